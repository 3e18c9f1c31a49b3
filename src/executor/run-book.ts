import { performance } from 'node:perf_hooks';
import { formatDuration, MAX_TIMER_MS, SECOND } from '../duration.js';
import type { AbortReason, RunError, RunListener, RunOutcome, RunRequest } from './executor.js';
import type { AbortCause } from './wire.js';
import { Deadlines, type Timed } from './deadlines.js';

/** A timer firing this late means the process itself was stalled (stopped, or its loop held). */
const STALL_MS = 1 * SECOND;
/** After a stall, what a run's worker gets to deliver a result it was finishing. */
const STALL_GRACE_MS = 1 * SECOND;

export type Result = { ok: true; output: string | undefined } | { ok: false; error: RunError };

/** What every executor keeps for a run in flight. */
export interface BookedRun extends Timed {
  readonly request: RunRequest;
  readonly listener: RunListener;
  /** When a worker was sent the run (until then, when it was booked): its duration and timeout count from here. */
  startedAt: number;
  /** Once aborted, the kill grace period (the timeout is a deadline: see Deadlines). */
  timer: NodeJS.Timeout | null;
  abortedBy: AbortCause | null;
  /** The last progress passed to onProgress. */
  progress: number | null;
  /** onOutcome was called: at a timeout or abort this comes before the worker is gone. */
  reported: boolean;
  /** The kill grace ran out before a worker took the run: it gets a whole new one there (see placed). */
  killDue: boolean;
  /**
   * Sent to a worker behind other runs, not started yet: its timeout and duration count from when
   * the worker starts it (started), and a kill waits for that too, as for a run no worker took.
   */
  queued: boolean;
}

/** What a run starts with; an executor adds where the run is. */
export function bookedRun(request: RunRequest, listener: RunListener): BookedRun {
  return { request, listener, startedAt: performance.now(), timer: null, abortedBy: null, progress: null, reported: false, killDue: false, queued: false, deadline: 0, deadlineIndex: -1 };
}

export interface RunBookHooks<R extends BookedRun> {
  /** Used in programming-error messages, e.g. "ThreadExecutor". */
  readonly owner: string;
  /** Between aborting a run's signal and killing its worker. */
  readonly killGraceMs: number;
  /** The worker a run is on, as outcomes name it. */
  workerName(run: R): string;
  /** Takes from the front of `waiting` the runs it sends to workers with room; the rest wait for a release. */
  dispatch(waiting: R[]): void;
  /** The run was aborted (run.abortedBy says why): tell the worker holding it, if one does yet. */
  signal(run: R): void;
  /**
   * The run's handler ignored its aborted signal for the kill grace: kill its worker. False when
   * no worker holds the run yet: the kill waits for one (see placed).
   */
  kill(run: R, why: string): boolean;
  /** The run left the book: free its slot on its worker. */
  released(run: R): void;
}

/**
 * The runs an executor has in flight, and what is the same whatever runs them: the checks on a
 * request, the runs waiting for a slot, timeouts, aborts and the kill after their grace, progress
 * and outcome reports (each once), the release of a slot, and close(): abort, drain, stop the
 * workers. An executor keeps only where runs go and how its workers are signalled and killed.
 */
export class RunBook<R extends BookedRun> {
  readonly #runs = new Map<string, R>();
  /** Runs not yet sent: those handed over in this turn, and any no worker has room for yet. */
  readonly #waiting: R[] = [];
  #dispatchScheduled = false;
  /** Runs whose timeout expired, waiting for the I/O that may bring their result; each with its cancel. */
  readonly #judging = new Map<R, () => void>();
  readonly #hooks: RunBookHooks<R>;
  /** The timeouts of the runs sent, on one timer. */
  readonly #deadlines = new Deadlines<R>((run) => this.#timedOut(run));
  #onDrained: (() => void) | null = null;
  /** The shutdown's grace is over: a run settling now was not stopped in time, it is being killed. */
  #graceOver = false;
  /** Set before close() aborts anything, so that no release during it sends a waiting run. */
  #closed = false;
  #closing: Promise<void> | null = null;

  constructor(hooks: RunBookHooks<R>) {
    this.#hooks = hooks;
  }

  get size(): number {
    return this.#runs.size;
  }

  /** close() was called: runs are refused. */
  get closed(): boolean {
    return this.#closed;
  }

  get(runId: string): R | undefined {
    return this.#runs.get(runId);
  }

  /** A snapshot: releasing while iterating it is safe. */
  all(): R[] {
    return [...this.#runs.values()];
  }

  /**
   * Books a run and queues it for a worker (its timeout starts when one is sent it). After close() the run is refused
   * instead. Throws on a programming error (a duplicate id, a bad timeout).
   */
  add(run: R): void {
    if (this.#closed) {
      this.#refuseClosed(run);
      return;
    }
    const { runId, timeoutMs } = run.request;
    if (this.#runs.has(runId)) throw new Error(`${this.#hooks.owner}: run ${runId} is already in flight`);
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMER_MS) {
      throw new RangeError(`${this.#hooks.owner}: timeoutMs must be an integer within 1..${MAX_TIMER_MS}, got ${timeoutMs}`);
    }
    this.#runs.set(runId, run);
    // Runs started in one turn (a group commit starts many) travel together: one message per worker.
    this.#waiting.push(run);
    if (!this.#dispatchScheduled) {
      this.#dispatchScheduled = true;
      queueMicrotask(() => this.dispatch());
    }
  }

  /**
   * Offers the waiting runs to the executor; called again whenever a slot may have come free.
   * A run's timeout and duration count from when it is sent, not from when it was booked: one
   * claimed ahead may wait here for a slot first.
   */
  dispatch(): void {
    this.#dispatchScheduled = false;
    const waiting = this.#waiting;
    if (this.#closed || waiting.length === 0) return;
    const offered = waiting.length === 1 ? [waiting[0]!] : waiting.slice();
    this.#hooks.dispatch(waiting);
    const sent = offered.length - waiting.length;
    for (let i = 0; i < sent; i++) this.#sent(offered[i]!);
  }

  #sent(run: R): void {
    if (!run.queued) this.#clockFrom(run);
  }

  /** A run queued on its worker behind others (see BookedRun.queued) has started there. */
  started(run: R): void {
    if (!this.holds(run) || !run.queued) return;
    run.queued = false;
    if (run.abortedBy === null) this.#clockFrom(run);
    else this.placed(run);
  }

  /**
   * Runs queued on a worker that will not start them (it is gone, or gave them back): they wait
   * for a worker again, ahead of the others and in their order, as runs no worker took yet; one
   * aborted meanwhile (a shutdown's too) is released unstarted.
   */
  unstarted(runs: R[]): void {
    const back = runs.filter((run) => this.holds(run));
    for (const run of back) run.queued = false;
    for (const run of back) if (run.abortedBy !== null) this.releaseUnstarted(run);
    const waiting = back.filter((run) => run.abortedBy === null);
    if (waiting.length === 0) return;
    this.#waiting.unshift(...waiting);
    if (!this.#dispatchScheduled) {
      this.#dispatchScheduled = true;
      queueMicrotask(() => this.dispatch());
    }
  }

  #clockFrom(run: R): void {
    const now = performance.now();
    // A run sent ahead of its due time starts when its worker's wait ends: its timeout and its
    // duration count from then.
    run.startedAt = Math.max(now, run.request.startAt ?? now);
    // An aborted run's timer is its kill grace, already running.
    if (run.abortedBy !== null) return;
    this.#deadlines.add(run, run.startedAt + run.request.timeoutMs);
  }

  /** The run's timeout has passed (by performance.now(), not by the loop's clock a timer counts from). */
  #timedOut(run: R): void {
    const timeoutMs = run.request.timeoutMs;
    this.#judgeLater(run, () => this.#abort(run, 'timeout', { code: 'TIMEOUT', message: `the run exceeded its timeout of ${formatDuration(timeoutMs)}` }, { killAfterGrace: true }));
  }

  /**
   * A timeout is judged after the next I/O poll, not when its timer fires. After a stall (the
   * runtime stopped, its loop held) Node runs expired timers before it reads its pipes and ports,
   * so a result a worker sent in time would lose to the timer and the finished run would be rerun.
   * A timer that fires over STALL_MS late means this whole process was stalled, its worker
   * threads with it: they get STALL_GRACE_MS to deliver what they were finishing.
   */
  #judgeLater(run: R, timedOut: () => void): void {
    const judge = (): void => {
      this.#judging.delete(run);
      if (this.holds(run) && !run.reported) timedOut();
    };
    const late = performance.now() - (run.startedAt + run.request.timeoutMs);
    if (late > STALL_MS) {
      const timer = setTimeout(judge, STALL_GRACE_MS);
      this.#judging.set(run, () => clearTimeout(timer));
    } else {
      const immediate = setImmediate(judge);
      this.#judging.set(run, () => clearImmediate(immediate));
    }
  }

  /** Whether `run` is still the booked run with its id. */
  holds(run: R): boolean {
    return this.#runs.get(run.request.runId) === run;
  }

  /** Aborts a run by id, reporting it CANCELLED; its worker is killed if it ignores the signal for the kill grace. */
  abort(runId: string, reason: AbortReason): void {
    // A run handed over in this turn is sent first, so its abort reaches its worker.
    if (this.#dispatchScheduled) this.dispatch();
    const run = this.#runs.get(runId);
    if (run !== undefined) this.#abort(run, reason, cancelled(reason), { killAfterGrace: true });
  }

  #abort(run: R, cause: AbortCause, error: RunError, { killAfterGrace }: { killAfterGrace: boolean }): void {
    if (run.abortedBy !== null || run.reported) return;
    run.abortedBy = cause;
    this.report(run, { ok: false, error });
    this.#deadlines.remove(run);
    if (run.timer !== null) clearTimeout(run.timer);
    run.timer = null;
    // Still waiting for a slot, it was never sent: released unstarted, no handler ever sees it.
    if (this.#waiting.includes(run)) {
      this.releaseUnstarted(run);
      return;
    }
    this.#hooks.signal(run);
    if (killAfterGrace) this.#killAfterGrace(run);
  }

  #killAfterGrace(run: R): void {
    const graceMs = this.#hooks.killGraceMs;
    run.timer = setTimeout(() => {
      run.timer = null;
      const what = run.abortedBy === 'timeout' ? 'timed out' : 'was aborted';
      const why = `run ${run.request.runId} ${what} and its handler ignored the signal for ${formatDuration(graceMs)}`;
      if (!this.#hooks.kill(run, why)) run.killDue = true;
    }, graceMs);
  }

  /**
   * A run aborted after it was sent but before a worker took it has reached one: the worker gets
   * the abort, so it ends the run without starting the handler, and a whole kill grace to do so if
   * the first ran out.
   */
  placed(run: R): void {
    if (!this.holds(run) || run.abortedBy === null) return;
    this.#hooks.signal(run);
    if (run.killDue) {
      run.killDue = false;
      this.#killAfterGrace(run);
    }
  }

  progress(run: R, progress: number): void {
    if (run.reported || run.progress === progress) return;
    run.progress = progress;
    run.listener.onProgress(progress);
  }

  report(run: R, result: Result): void {
    run.reported = true;
    run.listener.onOutcome(this.#outcome(run, result));
  }

  /**
   * The worker's reply for a run: its outcome when none was reported yet; else, for a run a
   * shutdown aborted, word that its handler settled on the signal in time (onInterrupted).
   */
  settled(run: R, result: Result): void {
    if (!run.reported) this.report(run, result);
    else if (run.abortedBy === 'shutdown' && !this.#graceOver) run.listener.onInterrupted?.();
  }

  /** Releases a run no worker took; one a shutdown aborted never ran, so it too is interrupted, not lost. */
  releaseUnstarted(run: R): void {
    if (run.abortedBy === 'shutdown' && this.holds(run)) run.listener.onInterrupted?.();
    this.release(run);
  }

  #outcome(run: R, result: Result): RunOutcome {
    const durationMs = Math.round(performance.now() - run.startedAt);
    const worker = this.#hooks.workerName(run);
    return result.ok ? { ok: true, output: result.output, durationMs, worker } : { ok: false, error: result.error, durationMs, worker };
  }

  /** A run asked for after the executor closed: it fails as CANCELLED without starting, a turn later. */
  #refuseClosed(run: R): void {
    const outcome = this.#outcome(run, { ok: false, error: { code: 'CANCELLED', message: 'the executor is closed; the run was not started' } });
    queueMicrotask(() => {
      run.listener.onOutcome(outcome);
      run.listener.onReleased();
    });
  }

  /** Frees the run's slot once; later calls for the same run do nothing. */
  release(run: R): void {
    if (!this.holds(run)) return;
    this.#deadlines.remove(run);
    if (run.timer !== null) clearTimeout(run.timer);
    run.timer = null;
    // Most runs were never judged: no lookup of each in an empty map.
    if (this.#judging.size > 0) {
      this.#judging.get(run)?.();
      this.#judging.delete(run);
    }
    this.#runs.delete(run.request.runId);
    const waiting = this.#waiting.indexOf(run);
    if (waiting >= 0) this.#waiting.splice(waiting, 1);
    this.#hooks.released(run);
    // A freed slot takes a run that waited for one.
    this.dispatch();
    run.listener.onReleased();
    if (this.#runs.size === 0) this.#onDrained?.();
  }

  /**
   * Aborts every run (reported CANCELLED; close's grace replaces the kill grace), drops those no
   * worker took, waits up to `graceMs` for the rest to be released, then has `stopWorkers` end the
   * workers and releases what they held. Later calls return the first call's promise.
   */
  close(graceMs: number, stopWorkers: () => Promise<void>): Promise<void> {
    if (this.#closing === null) {
      this.#closed = true;
      this.#closing = this.#shutdown(graceMs, stopWorkers);
    }
    return this.#closing;
  }

  async #shutdown(graceMs: number, stopWorkers: () => Promise<void>): Promise<void> {
    for (const run of this.all()) this.#abort(run, 'shutdown', cancelled('shutdown'), { killAfterGrace: false });
    // Runs no worker has taken yet never started: nothing to wait for.
    for (const run of this.#waiting.splice(0)) this.releaseUnstarted(run);
    await this.drain(graceMs);
    await stopWorkers();
    // Runs whose worker went without word of them (a crashed thread piscina no longer tracks).
    for (const run of this.all()) this.release(run);
  }

  /**
   * Resolves when every run is released, or after `graceMs`. Runs that settle after the grace
   * (while their workers are being killed) are not reported interrupted: the grace decides.
   */
  drain(graceMs: number): Promise<void> {
    const ms = Number.isFinite(graceMs) ? Math.min(Math.max(graceMs, 0), MAX_TIMER_MS) : 0;
    if (this.#runs.size === 0) return Promise.resolve();
    if (ms === 0) {
      this.#graceOver = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#onDrained = null;
        resolve();
      };
      const timer = setTimeout(() => {
        this.#graceOver = true;
        done();
      }, ms);
      this.#onDrained = done;
    });
  }
}

/** The error a run aborted by a client or a shutdown ends with. */
function cancelled(reason: AbortReason): RunError {
  return { code: 'CANCELLED', message: reason === 'cancel' ? 'the run was cancelled' : 'the run was stopped by a shutdown' };
}
