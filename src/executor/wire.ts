/**
 * The protocol between an executor and its workers. Worker entry points import this module and
 * pure helpers only, so it holds types and tiny functions, nothing with side effects.
 *
 * Thread workers get it on two transports: piscina's own request/reply path (WorkerRequest →
 * WorkerReply) and a side channel for what may happen while a run is in flight (ChannelMessage:
 * aborts and recalls one way, progress the other). Process workers get all of it, in order, on their one IPC
 * channel (ProcessRequest → ProcessReply).
 */
import type { RunErrorCode } from '../errors.js';

/** Why a run's signal is aborted. */
export type AbortCause = 'timeout' | 'cancel' | 'shutdown';

/** Main → worker: run one task. The module path is absolute and already verified. */
export interface TaskMessage {
  type: 'run';
  runId: string;
  taskId: string;
  /** The task's type: its definition's name in the module, and a tag on the run's log lines. */
  taskType: string;
  modulePath: string;
  params: unknown;
  attempt: number;
  /** Aborted while it waited in the thread pool's queue: end it without starting the handler. */
  abortedBy?: AbortCause;
  /**
   * The instant before which the handler must not start (the run's RunRequest.startAt), on the
   * host's monotonic clock (see wireStartAt): an instant, not a wait from the message's arrival, so
   * that the hop to the worker is not added to the wait.
   */
  startAt?: number;
}

/** Main → worker: answer at once; proves the entry point loaded and warms the thread up. */
export interface PingMessage {
  type: 'ping';
}

/**
 * Main → thread: several runs in one message, for one thread. The first `lanes` start at once; the
 * rest are queued behind them, in order, each started when one before it ends. Results come back
 * as soon as each ends, grouped per turn of the thread's event loop: those still pending when the
 * last run ends ride in the BatchReply, the others arrive first as ResultsMessages on the thread's
 * parentPort. Before a queued run starts, the results before it are sent with its id (`started`);
 * a batch that queued runs sends all its results on parentPort, behind that word.
 */
export interface BatchMessage {
  type: 'batch';
  /**
   * The runs as columns, run i at index i of each, not as TaskMessages: a message of hundreds of
   * objects cost the thread sending it and the thread reading it several times what these
   * arrays do (taskAt makes run i's TaskMessage again).
   */
  runIds: string[];
  taskIds: string[];
  /** Each run's type and module, as an index into `types` and `modules`: a batch mostly holds one type. */
  kinds: number[];
  types: string[];
  modules: string[];
  params: unknown[];
  attempts: number[];
  /** TaskMessage.abortedBy per run; absent while none has one. */
  abortedBy?: Array<AbortCause | null>;
  /** TaskMessage.startAt per run; absent while none has one. */
  startAt?: Array<number | null>;
  /** Runs at once (default: all of them). */
  lanes?: number;
}

/** Run `i` of a batch as a TaskMessage. */
export function taskAt(batch: BatchMessage, i: number): TaskMessage {
  const kind = batch.kinds[i]!;
  const task: TaskMessage = { type: 'run', runId: batch.runIds[i]!, taskId: batch.taskIds[i]!, taskType: batch.types[kind]!, modulePath: batch.modules[kind]!, params: batch.params[i], attempt: batch.attempts[i]! };
  const abortedBy = batch.abortedBy?.[i];
  if (abortedBy != null) task.abortedBy = abortedBy;
  const startAt = batch.startAt?.[i];
  if (startAt != null) task.startAt = startAt;
  return task;
}

/** Marks run `i` of a message (0 for a TaskMessage) aborted while it waited in the pool's queue. */
export function markAborted(message: TaskMessage | BatchMessage, i: number, cause: AbortCause): void {
  if (message.type === 'run') message.abortedBy = cause;
  else (message.abortedBy ??= message.runIds.map(() => null))[i] = cause;
}

export type WorkerRequest = TaskMessage | PingMessage | BatchMessage;

/** An error as it crosses the boundary: `{ name, message, code, stack }`. */
export interface WireError {
  code: RunErrorCode;
  name: string;
  message: string;
  stack?: string;
  /** The `code` property of the handler's own error, when it had one (HANDLER_ERROR only). */
  handlerCode?: string;
}

/**
 * Worker → main: how a run ended. `output` is JSON text, undefined when the handler returned
 * undefined. `progress` repeats the last value the handler reported: its ProgressMessage travels
 * on another port and may arrive after this.
 */
export type ResultMessage =
  | { type: 'result'; runId: string; ok: true; output: string | undefined; progress?: number }
  | { type: 'result'; runId: string; ok: false; error: WireError; progress?: number };

export interface PongMessage {
  type: 'pong';
  worker: string;
}

/** Thread → main: the end of a BatchMessage, with the results not sent ahead. */
export interface BatchReply {
  type: 'batch';
  results: ResultMessage[];
  done: string[];
}

/**
 * Thread → main on parentPort (piscina emits it as the pool's 'message' event): results sent ahead.
 * `done` (here and in a BatchReply): the runs that succeeded with no output and no progress, by
 * id, not as ResultMessages: most runs end so, and an id crosses a port for a fraction of what a
 * result object costs to write and read.
 * `started`: a queued run of a BatchMessage whose handler starts right after this is posted, so
 * the executor counts its timeout and duration from then, and knows it started if the thread dies.
 * `returned`: queued runs given back unstarted on a RecallMessage.
 */
export interface ResultsMessage {
  type: 'spindle-results';
  results: ResultMessage[];
  done: string[];
  started?: string;
  returned?: string[];
}

export type WorkerReply = ResultMessage | PongMessage | BatchReply;

/** Main → workers: abort one run's signal. Broadcast, so it names the worker holding the run. */
export interface AbortMessage {
  type: 'abort';
  runId: string;
  worker: string;
  cause: AbortCause;
}

/** Worker → main: the handler called ctx.progress(p). */
export interface ProgressMessage {
  type: 'progress';
  runId: string;
  progress: number;
}

/**
 * Main → thread: give back the runs of `runId`'s batch still queued there, not started (they waited
 * too long behind a run: another thread may be free). Answered with a ResultsMessage's `returned`.
 */
export interface RecallMessage {
  type: 'recall';
  runId: string;
  worker: string;
}

export type ChannelMessage = AbortMessage | ProgressMessage | RecallMessage;

/** Thread → main, on parentPort: one line of the thread's pino logger (JSON), for the runtime's logger. */
export interface LogMessage {
  type: 'spindle-log';
  line: string;
}

/** What a thread worker is started with (piscina's workerData). */
export interface ThreadWorkerData {
  /** Name of the BroadcastChannel carrying ChannelMessages; unique per executor instance. */
  channel: string;
  /** pino level for handler logs. */
  logLevel: string;
}

/** Child → main, once: the entry point has loaded and listens for requests. */
export interface ReadyMessage {
  type: 'ready';
}

/**
 * Child → main: an error escaped every handler (a throw from a timer, an unhandled rejection).
 * Sent just before the child exits, so its runs are recorded with the error, not only a code.
 */
export interface CrashMessage {
  type: 'crash';
  error: Omit<WireError, 'code' | 'handlerCode'>;
}

/** Main → child process: the runs started together for this child, in one message. */
export interface RunsMessage {
  type: 'runs';
  runs: TaskMessage[];
}

/** Child process → main: the results of the runs that ended in one turn of the child's loop. */
export interface ProcessResultsMessage {
  type: 'results';
  results: ResultMessage[];
}

/** Main → child process, on its IPC channel. */
export type ProcessRequest = RunsMessage | AbortMessage;

/** Child process → main, on its IPC channel: one channel keeps progress ahead of its result. */
export type ProcessReply = ProcessResultsMessage | ProgressMessage | ReadyMessage | CrashMessage;

/** Narrows what arrives on a child's IPC channel; a handler may send messages of its own there. */
export function isProcessReply(value: unknown): value is ProcessReply {
  if (typeof value !== 'object' || value === null) return false;
  const { type, runId, results } = value as { type?: unknown; runId?: unknown; results?: unknown };
  return type === 'ready' || type === 'crash' || (type === 'results' && Array.isArray(results)) || (type === 'progress' && typeof runId === 'string');
}

/** Narrows what arrives in a child from its parent. */
export function isProcessRequest(value: unknown): value is ProcessRequest {
  if (typeof value !== 'object' || value === null) return false;
  const { type, runId, runs } = value as { type?: unknown; runId?: unknown; runs?: unknown };
  return (type === 'runs' && Array.isArray(runs)) || (type === 'abort' && typeof runId === 'string');
}

/** Starts the line a child's watchdog writes on stderr before it kills a child over its memory cap. */
export const RESIDENT_LIMIT_MARK = 'spindle-worker-memory-limit';

/**
 * The cap on a child process's resident memory, in MB: room for a full heap twice over (Buffers
 * and native memory live outside it) plus Node's own footprint.
 */
export function residentLimitMb(workerMemoryMb: number): number {
  return 2 * workerMemoryMb + 128;
}

/** The name a child process goes by in outcomes, logs and abort messages. */
export function processWorkerName(pid: number): string {
  return `process-${pid}`;
}

/** The name a thread goes by in outcomes, logs and abort messages. */
export function threadWorkerName(threadId: number): string {
  return `thread-${threadId}`;
}

/** Narrows what arrives on a channel; anything else sharing the name is ignored. */
export function isChannelMessage(value: unknown): value is ChannelMessage {
  if (typeof value !== 'object' || value === null) return false;
  const { type, runId } = value as { type?: unknown; runId?: unknown };
  return (type === 'abort' || type === 'progress' || type === 'recall') && typeof runId === 'string';
}

/** A progress value a handler may report: a finite number within 0..1. */
export function isProgress(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= 1;
}

/**
 * performance.now() counts from an origin of its own thread or process; process.hrtime from one
 * the whole host shares (the system's monotonic clock). This is the first minus the second here:
 * the least of a few readings, each taken hrtime after performance.now(), so that a thread
 * descheduled between its two reads (a loaded machine starting a runtime) does not put its runs'
 * start that much early or late on another thread.
 */
const HRTIME_ORIGIN = (() => {
  let origin = Infinity;
  for (let i = 0; i < 8; i++) {
    const now = performance.now();
    origin = Math.min(origin, Number(process.hrtime.bigint()) / 1e6 - now);
  }
  return origin;
})();

/**
 * The startAt a run's message carries: its RunRequest.startAt (this thread's performance.now()) on
 * the host's monotonic clock, which its worker's thread or process reads the same; undefined when
 * it has passed (the handler need not wait).
 */
export function wireStartAt(request: { startAt?: number | undefined }): number | undefined {
  return request.startAt === undefined || request.startAt <= performance.now() ? undefined : request.startAt + HRTIME_ORIGIN;
}

/** A message's startAt (see wireStartAt) on this thread's performance.now(). */
export function localStartAt(startAt: number): number {
  return startAt - HRTIME_ORIGIN;
}
