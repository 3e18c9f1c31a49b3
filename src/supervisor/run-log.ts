import type { Logger } from 'pino';
import type { RunRecord, TaskRecord } from '../task/record.js';
import type { TransitionResult } from '../task/state.js';

/**
 * One log line for a run that did not succeed, written once its outcome is applied to the task:
 * - warn: the task goes on (a retry, with `retryAt`; the next occurrence of a recurring task,
 *   with `nextRunAt`; a run a graceful stop interrupted, queued again without spending a try);
 * - error: the task ended `failed` or `terminated` (its last try failed, timed out or was lost).
 *
 * Fields: `type`, `taskId`, `attempt`, `run`, `maxTries`, the run's `outcome` (its run state),
 * the error's `code` and `message` (and `handlerCode`, `exitCode`, `signal` when the error has
 * them), `state` and `reason` of the task after the change, and `stack` only when debug is
 * enabled. Every field is passed in the call, never bound in a child, so no key appears twice.
 *
 * The line is built from the task as the transition left it and returned as a function, for the
 * caller to write once the change is stored (a write that fails is applied and logged again).
 * Undefined when there is nothing to log (a success, a cancel, a level that is off).
 */
export function runEndLog(log: Logger, rec: TaskRecord, run: RunRecord, res: TransitionResult): (() => void) | undefined {
  if (run.state === 'finished' || run.state === 'running' || run.state === 'cancelled') return undefined;
  const ended = res.to === 'failed' || res.to === 'terminated';
  if (!log.isLevelEnabled(ended ? 'error' : 'warn')) return undefined;
  const error = run.error;
  const fields: Record<string, unknown> = {
    type: rec.type,
    taskId: rec.id,
    attempt: run.attempt,
    run: run.run,
    maxTries: rec.maxTries,
    outcome: run.state,
    code: error?.code ?? null,
    message: error?.message ?? null,
    ...(error?.handlerCode !== undefined ? { handlerCode: error.handlerCode } : {}),
    ...(error?.exitCode !== undefined ? { exitCode: error.exitCode } : {}),
    ...(error?.signal !== undefined ? { signal: error.signal } : {}),
    state: rec.state,
    reason: rec.reason,
  };
  if (error?.stack !== undefined && log.isLevelEnabled('debug')) fields.stack = error.stack;

  const tried = `run ${run.run} (try ${run.attempt} of ${rec.maxTries}) ${what(run)}`;
  if (ended) {
    const msg = `task ${rec.id} (${rec.type}) ${rec.state}: ${tried}`;
    return () => log.error(fields, msg);
  }
  const due = rec.nextRunAt === null ? null : new Date(rec.nextRunAt).toISOString();
  let msg: string;
  if (res.actions.includes('retry')) {
    fields.retryAt = due;
    msg = `task ${rec.id} (${rec.type}): ${tried}; next try at ${due}`;
  } else if (res.actions.includes('nextOccurrence')) {
    fields.nextRunAt = due;
    msg = `task ${rec.id} (${rec.type}): ${tried}; no tries left for this occurrence, the next one is at ${due}`;
  } else {
    msg = `task ${rec.id} (${rec.type}): run ${run.run} ${what(run)}; queued again without spending a try`;
  }
  return () => log.warn(fields, msg);
}

function what(run: RunRecord): string {
  const error = run.error;
  const because = error === null ? '' : ` (${error.code}: ${error.message})`;
  switch (run.state) {
    case 'failed': return `failed${because}`;
    case 'timeout': return `timed out${because}`;
    case 'lost': return `was lost${because}`;
    case 'interrupted': return 'was interrupted by a graceful stop';
    default: return `ended ${run.state}${because}`;
  }
}
