import pino from 'pino';
import type { Logger } from 'pino';
import { formatDuration, MAX_TIMER_MS, SECOND } from '../duration.js';
import { describeDeath, lostRunError } from './child-death.js';
import type { ChildDeath } from './child-death.js';
import { ChildWorker } from './child-worker.js';
import type { LineTags } from './worker-output.js';
import type { AbortReason, Executor, RunListener, RunRequest } from './executor.js';
import { integerOption, resolvePoolOptions } from './pool-options.js';
import { type BookedRun, bookedRun, RunBook } from './run-book.js';
import type { PoolOptions, ResolvedPoolOptions } from './pool-options.js';
import { isProgress, wireStartAt } from './wire.js';
import type { ProcessResultsMessage, ProgressMessage, ResultMessage, TaskMessage } from './wire.js';
import { resolveWorkerEntry } from './worker-entry.js';
import type { WorkerEntry } from './worker-entry.js';

export interface ProcessExecutorOptions extends PoolOptions {
  /** Milliseconds between SIGTERM and SIGKILL to a killed worker's process group (default 1 s). */
  termGraceMs?: number;
  /** The runtime's heartbeat file and how old its beat may be before a child kills itself; only with leases. */
  heartbeat?: { path: string; staleMs: number } | undefined;
}

export interface ResolvedProcessExecutorOptions extends ResolvedPoolOptions {
  readonly termGraceMs: number;
}

export const PROCESS_EXECUTOR_DEFAULTS = {
  termGraceMs: 1 * SECOND,
} as const;

/** A child that died before it was ready, or could not be forked, is retried after this long. */
const RESPAWN_DELAY_MS = 1 * SECOND;

export function resolveProcessExecutorOptions(input: ProcessExecutorOptions): ResolvedProcessExecutorOptions {
  return Object.freeze({
    ...resolvePoolOptions(input),
    termGraceMs: integerOption(input.termGraceMs, 'termGraceMs', 0, MAX_TIMER_MS, PROCESS_EXECUTOR_DEFAULTS.termGraceMs),
  });
}

interface Run extends BookedRun {
  /** The child it was sent to; null while it waits for a free slot. */
  child: Child | null;
}

interface Child {
  readonly worker: ChildWorker;
  readonly runs: Set<Run>;
  /** The run it held last: that run's output may still be in the pipe after its result. */
  last: Run | null;
}

/**
 * Runs tasks on a pool of long-lived child processes, one IPC channel each. A run is aborted
 * through its ctx.signal; a handler still going `killGraceMs` later has its child's whole process
 * group killed (SIGTERM, then SIGKILL after `termGraceMs`) and the child replaced. A child that
 * dies for any reason takes its runs with it as lost (WORKER_EXITED, WORKER_CRASHED, WORKER_OOM).
 */
export class ProcessExecutor implements Executor {
  readonly mode = 'processes';
  readonly options: ResolvedProcessExecutorOptions;
  readonly capacity: number;
  readonly workers: number;
  readonly #book: RunBook<Run>;
  readonly #children = new Set<Child>();
  readonly #respawns = new Set<NodeJS.Timeout>();
  #logger: Logger | undefined;
  #entry: WorkerEntry | null = null;
  #started = false;
  #onChildrenGone: (() => void) | null = null;
  readonly #heartbeat: ProcessExecutorOptions['heartbeat'];

  constructor(options: ProcessExecutorOptions = {}) {
    this.options = resolveProcessExecutorOptions(options);
    this.capacity = this.options.workers * this.options.runsPerWorker;
    this.workers = this.options.workers;
    this.#logger = options.logger;
    this.#heartbeat = options.heartbeat;
    this.#book = new RunBook<Run>({
      owner: 'ProcessExecutor',
      killGraceMs: this.options.killGraceMs,
      workerName: (run) => run.child?.worker.name ?? 'process-pending',
      dispatch: (waiting) => this.#pump(waiting),
      signal: ({ child, abortedBy, request }) => {
        // On a closed channel the child is dying: its exit ends the run.
        if (child !== null && abortedBy !== null) child.worker.send({ type: 'abort', runId: request.runId, worker: child.worker.name, cause: abortedBy });
      },
      kill: (run, why) => this.#kill(run, why),
      released: (run) => {
        run.child?.runs.delete(run);
      },
    });
  }

  busy(): number {
    return Math.min(this.#book.size, this.capacity);
  }

  /** Forks every child at once and waits until each has loaded the worker entry. */
  async start(): Promise<void> {
    if (this.#book.closed) throw new Error('ProcessExecutor: start() after close()');
    if (this.#entry !== null) return;
    const entry = resolveWorkerEntry('process-worker');
    this.#entry = entry;
    const children = Array.from({ length: this.options.workers }, () => this.#spawn());
    try {
      await Promise.all(children.map((c) => c.worker.ready));
    } catch (err) {
      await this.close(0);
      throw new Error(`worker processes failed to start from ${entry.filename}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    this.#started = true;
  }

  run(request: RunRequest, listener: RunListener): void {
    // After close() the book refuses the run as CANCELLED: that is no programming error.
    if (!this.#started && !this.#book.closed) throw new Error('ProcessExecutor: run() before start()');
    this.#book.add({ ...bookedRun(request, listener), child: null });
  }

  abort(runId: string, reason: AbortReason): void {
    this.#book.abort(runId, reason);
  }

  close(graceMs: number): Promise<void> {
    return this.#book.close(graceMs, () => {
      for (const timer of this.#respawns) clearTimeout(timer);
      this.#respawns.clear();
      return this.#stopChildren();
    });
  }

  /** SIGTERM to every child's group (SIGKILL after the term grace); resolves when all are gone. */
  #stopChildren(): Promise<void> {
    if (this.#children.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onChildrenGone = resolve;
      for (const child of this.#children) child.worker.kill('the executor is closing');
    });
  }

  #spawn(): Child {
    const entry = this.#entry!;
    const { workerMemoryMb, logLevel, termGraceMs } = this.options;
    let child!: Child;
    const worker = new ChildWorker({
      entry, workerMemoryMb, logLevel, termGraceMs, logger: this.#log(), heartbeat: this.#heartbeat,
      tags: () => runTags(child),
      onMessage: (message) => this.#onMessage(child, message),
      onExit: (death) => this.#onExit(child, death),
    });
    child = { worker, runs: new Set(), last: null };
    this.#children.add(child);
    worker.ready.then(
      () => this.#book.dispatch(),
      // A failure during start() is thrown from it; later ones are logged when the child is gone.
      () => undefined,
    );
    return child;
  }

  /** The least busy child that can take one more run, or null. */
  #freeChild(): Child | null {
    let best: Child | null = null;
    for (const child of this.#children) {
      if (!child.worker.available || child.runs.size >= this.options.runsPerWorker) continue;
      if (best === null || child.runs.size < best.runs.size) best = child;
      if (child.runs.size === 0) break;
    }
    return best;
  }

  /** Sends waiting runs to the least busy children, as many per message as each can take. */
  #pump(waiting: Run[]): void {
    while (waiting.length > 0) {
      const child = this.#freeChild();
      if (child === null) return;
      this.#send(child, waiting.splice(0, this.options.runsPerWorker - child.runs.size));
    }
  }

  #send(child: Child, runs: Run[]): void {
    for (const run of runs) {
      run.child = child;
      child.runs.add(run);
      child.last = run;
    }
    // On a closed channel the child is dying: its exit ends the runs as lost.
    child.worker.send({
      type: 'runs',
      runs: runs.map(({ request }): TaskMessage => {
        const { runId, taskId, type, modulePath, params, attempt } = request;
        const startAt = wireStartAt(request);
        return { type: 'run', runId, taskId, taskType: type, modulePath, params, attempt, ...(startAt !== undefined ? { startAt } : {}) };
      }),
    });
  }

  #onMessage(child: Child, message: ProcessResultsMessage | ProgressMessage): void {
    if (message.type === 'results') {
      for (const result of message.results) this.#onResult(child, result);
      return;
    }
    const run = this.#book.get(message.runId);
    if (run !== undefined && run.child === child && isProgress(message.progress)) this.#book.progress(run, message.progress);
  }

  #onResult(child: Child, message: ResultMessage): void {
    const run = this.#book.get(message.runId);
    if (run === undefined || run.child !== child) return;
    if (!run.reported && message.progress !== undefined && isProgress(message.progress)) this.#book.progress(run, message.progress);
    this.#book.settled(run, message.ok ? { ok: true, output: message.output } : { ok: false, error: message.error });
    this.#book.release(run);
  }

  #onExit(child: Child, death: ChildDeath): void {
    this.#children.delete(child);
    const { name } = child.worker;
    // Before start() has resolved, a child's death is reported by start() itself.
    if (child.runs.size === 0 && death.killedFor === null && !this.#book.closed && this.#started) {
      this.#log().error({ worker: name, exitCode: death.exitCode, signal: death.signal }, child.worker.loaded
        ? `worker process ${name} ended while it held no run (${describeDeath(death)}); it is replaced`
        : `worker process ${name} ended before it was ready (${describeDeath(death)}); retrying in ${formatDuration(RESPAWN_DELAY_MS)}`);
    }
    for (const run of [...child.runs]) {
      if (!run.reported) this.#book.report(run, { ok: false, error: lostRunError(death, this.options.workerMemoryMb) });
      this.#book.release(run);
    }
    if (this.#book.closed) {
      if (this.#children.size === 0) this.#onChildrenGone?.();
      return;
    }
    if (child.worker.loaded) this.#replace();
    else this.#replaceLater();
  }

  #replace(): void {
    try {
      this.#spawn();
    } catch (err) {
      this.#log().error({ err }, `cannot fork a worker process; retrying in ${formatDuration(RESPAWN_DELAY_MS)}`);
      this.#replaceLater();
    }
  }

  /** A child that could not start is retried after a pause, not in a tight loop. */
  #replaceLater(): void {
    const timer = setTimeout(() => {
      this.#respawns.delete(timer);
      if (!this.#book.closed) this.#replace();
    }, RESPAWN_DELAY_MS);
    this.#respawns.add(timer);
  }

  /** Kills the run's child and its process group; false when the run was never sent to one. */
  #kill(run: Run, why: string): boolean {
    const worker = run.child?.worker;
    if (worker === undefined) return false;
    // Dying already (another run's kill, or it crashed): its exit ends the run.
    if (worker.dying) return true;
    this.#log().warn({ worker: worker.name, taskId: run.request.taskId, attempt: run.request.attempt }, `killing ${worker.name} and its process group: ${why}`);
    worker.kill(why);
    return true;
  }

  #log(): Logger {
    this.#logger ??= pino({ level: this.options.logLevel });
    return this.#logger;
  }
}

/** A child's output is tagged with its run when it holds exactly one (or held one last). */
function runTags(child: Child): LineTags {
  if (child.runs.size > 1) return {};
  const run = child.runs.size === 1 ? child.runs.values().next().value! : child.last;
  return run === null ? {} : { taskId: run.request.taskId, attempt: run.request.attempt };
}
