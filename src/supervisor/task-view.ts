import type { HistoryEntry, RunRecord, TaskRecord } from '../task/record.js';
import type { TaskReason, TaskState } from '../task/state.js';
import type { RunError } from '../executor/executor.js';
import { formatInstant } from '../schedule/schedule-fields.js';

/** A task as the API returns it (SPEC §6): times as ISO-8601 UTC strings. */
export interface TaskView {
  id: string;
  type: string;
  params: unknown;
  state: TaskState;
  reason: TaskReason | null;
  schedule: unknown;
  recurring: boolean;
  priority: number;
  maxTries: number;
  timeoutMs: number;
  misfire: string;
  graceMs: number;
  tries: number;
  runCount: number;
  occurrences: number;
  /** The current interval of an adaptive `every`, in ms. */
  interval?: number;
  nextRunAt: string | null;
  paused: boolean;
  key: string | null;
  /** Until when an ended task keeps its key (a resubmit gets it back); absent while live or once free. */
  keyExpiresAt?: string;
  createdAt: string;
  updatedAt: string;
  endedAt: string | null;
  lastRun: RunView | null;
}

/**
 * A submit's answer: the task, and whether its idempotency key returned a task that already held
 * it (`true`: nothing new was stored) or the submit created it (`false`). Always present here,
 * never on other answers.
 */
export interface SubmittedView extends TaskView {
  existing: boolean;
}

export interface RunView {
  taskId: string;
  run: number;
  attempt: number;
  state: RunRecord['state'];
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  worker: string | null;
  output: unknown;
  error: RunError | null;
  progress: number | null;
}

export interface HistoryView {
  from: TaskState;
  to: TaskState;
  event: string;
  at: string;
  reason: TaskReason | null;
}

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : formatInstant(ms));

export function taskView(rec: TaskRecord): TaskView {
  return {
    id: rec.id,
    type: rec.type,
    params: rec.params,
    state: rec.state,
    reason: rec.reason,
    schedule: rec.schedule,
    recurring: rec.recurring,
    priority: rec.priority,
    maxTries: rec.maxTries,
    timeoutMs: rec.timeoutMs,
    misfire: rec.misfire,
    graceMs: rec.graceMs,
    tries: rec.tries,
    runCount: rec.runCount,
    occurrences: rec.occurrences,
    ...(rec.interval != null ? { interval: rec.interval } : {}),
    nextRunAt: isoOrNull(rec.nextRunAt),
    paused: rec.paused,
    key: rec.key,
    ...(rec.keyExpiresAt != null ? { keyExpiresAt: formatInstant(rec.keyExpiresAt) } : {}),
    createdAt: formatInstant(rec.createdAt),
    updatedAt: formatInstant(rec.updatedAt),
    endedAt: isoOrNull(rec.endedAt),
    lastRun: rec.lastRun === null ? null : runView(rec.lastRun),
  };
}

export function runView(run: RunRecord): RunView {
  return {
    taskId: run.taskId,
    run: run.run,
    attempt: run.attempt,
    state: run.state,
    startedAt: formatInstant(run.startedAt),
    endedAt: isoOrNull(run.endedAt),
    durationMs: run.durationMs,
    worker: run.worker,
    output: run.output === null ? null : (JSON.parse(run.output) as unknown),
    error: run.error,
    progress: run.progress,
  };
}

export function historyView(h: HistoryEntry): HistoryView {
  return { from: h.from, to: h.to, event: h.event, at: formatInstant(h.at), reason: h.reason };
}
