import type { RunError } from '../api/views.js';

export type { RunError } from '../api/views.js';

/** What the supervisor asks an executor to run. Everything here crosses to the worker. */
export interface RunRequest {
  /**
   * Unique per run: `${taskId}:${run}`, the task's id and its run number, which counts every run
   * of the task (across occurrences and retries), so an id is never reused. Used to abort it.
   */
  runId: string;
  taskId: string;
  type: string;
  /** Absolute, already-verified path of the task module inside the tasks directory. */
  modulePath: string;
  params: unknown;
  /** 1-based attempt number within the occurrence. */
  attempt: number;
  /** Per-run limit in ms (1 .. 2^31-1). The executor enforces it on the monotonic clock. */
  timeoutMs: number;
  /**
   * A run sent just ahead of its due time: the instant (this process's performance.now()) before
   * which its handler must not start. The worker waits for it, so that the hop to the worker and a
   * busy main thread are not paid between the due time and the handler. A few ms at most.
   */
  startAt?: number | undefined;
}

export type RunOutcome =
  | { ok: true; /** JSON text of the handler's output; undefined when it returned undefined. */ output: string | undefined; durationMs: number; worker: string }
  | { ok: false; error: RunError; durationMs: number; worker: string };

export interface RunListener {
  /** The handler called ctx.progress(p), 0 <= p <= 1. */
  onProgress(progress: number): void;
  /**
   * The run's outcome, exactly once. For an abort this is called when the abort is asked for, for
   * a timeout just after the limit (after the next I/O poll, so a result already sent still wins);
   * in both cases before the worker is stopped or gone.
   */
  onOutcome(outcome: RunOutcome): void;
  /** The run's slot is free again (after onOutcome; later than it when a worker had to be killed). */
  onReleased(): void;
  /**
   * A run a shutdown aborted (its outcome, CANCELLED, already reported) settled on its signal:
   * its handler returned or threw before the grace ran out, rather than being killed. Called at
   * most once, before onReleased. Optional: a listener that does not care leaves it out.
   */
  onInterrupted?(): void;
}

export type AbortReason = 'cancel' | 'shutdown';

/** Where runs happen: a pool of worker threads or of child processes. Persists nothing. */
export interface Executor {
  readonly mode: 'threads' | 'processes';
  /** Runs it can hold at once (workers × runs per worker). */
  readonly capacity: number;
  readonly workers: number;
  /** Runs holding a slot (at most capacity: runs claimed ahead wait for one). */
  busy(): number;
  start(): Promise<void>;
  /**
   * Starts a run, or books it until a worker has room when every slot is taken (a run claimed
   * ahead): its timeout and duration count from when a worker is sent it. Never throws for a
   * handler's fault: every failure arrives as an outcome.
   */
  run(request: RunRequest, listener: RunListener): void;
  /**
   * Aborts a run: its outcome, unless it has one, is CANCELLED at once and its ctx.signal is
   * aborted; if the handler has not settled within the kill grace period its worker is killed and
   * replaced. An id not in flight is ignored.
   */
  abort(runId: string, reason: AbortReason): void;
  /**
   * Aborts what runs (CANCELLED; onInterrupted for a handler that settles within the grace), waits
   * up to graceMs for handlers to settle, then kills the rest. Later calls return the first's promise.
   */
  close(graceMs: number): Promise<void>;
}
