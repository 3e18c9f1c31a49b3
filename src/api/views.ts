import type { RunErrorCode } from '../errors.js';
import type { RunState, TaskReason, TaskState } from './states.js';

/** Why a run failed, as recorded on the run and sent with `run.ended`: `{ name, message, code, stack }` plus what a dead worker left. */
export interface RunError {
  code: RunErrorCode;
  message: string;
  name?: string;
  stack?: string;
  /** HANDLER_ERROR: the `code` property of the error the handler threw, when it had one. */
  handlerCode?: string;
  /** WORKER_EXITED: the exit code passed to process.exit / the child's exit code. */
  exitCode?: number;
  /** WORKER_CRASHED: the signal that killed the child. */
  signal?: string;
}

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
  state: RunState;
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
