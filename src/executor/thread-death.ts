import type { RunError } from './executor.js';

/** What ended a thread on its own: an uncaught error (a crash, the heap limit) or an exit code. */
export type ThreadDeath = { error: unknown } | { exitCode: number };

/** What the thread executor knows of a thread that lost a run. */
interface DeadThread {
  readonly death: ThreadDeath | null;
  /** Why the executor terminated it, when it did. */
  readonly terminatedFor: string | null;
}

/** Why piscina failed a run: the thread's recorded death, else the pool's own reason. */
export function lostRunError(thread: DeadThread | null, reason: unknown, workerMemoryMb: number): RunError {
  if (thread !== null && thread.terminatedFor !== null) {
    return { code: 'WORKER_CRASHED', message: `its thread was terminated because ${thread.terminatedFor}` };
  }
  const death = thread?.death ?? null;
  if (death !== null && 'exitCode' in death) {
    return { code: 'WORKER_EXITED', message: `the handler's thread exited with code ${death.exitCode} before the run finished`, exitCode: death.exitCode };
  }
  const error = death !== null ? death.error : reason;
  const fields = typeof error === 'object' && error !== null ? (error as { name?: unknown; message?: unknown; stack?: unknown; code?: unknown }) : {};
  const described = {
    ...(typeof fields.name === 'string' ? { name: fields.name } : {}),
    ...(typeof fields.stack === 'string' ? { stack: fields.stack } : {}),
  };
  const message = typeof fields.message === 'string' ? fields.message : String(error);
  if (death === null) return { code: 'WORKER_CRASHED', message: `the thread pool lost the run: ${message}`, ...described };
  if (fields.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return { code: 'WORKER_OOM', message: `the handler's thread reached its heap limit of ${workerMemoryMb} MB (workerMemoryMb) and was stopped`, ...described };
  }
  return { code: 'WORKER_CRASHED', message: `the handler's thread crashed with an uncaught error: ${message}`, ...described };
}
