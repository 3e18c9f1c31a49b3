import { randomUUID } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import { Piscina, queueOptionsSymbol } from 'piscina';
import pino from 'pino';
import type { Logger } from 'pino';
import type { AbortReason, Executor, RunListener, RunRequest } from './executor.js';
import { resolvePoolOptions } from './pool-options.js';
import { bookedRun, type Result, RunBook } from './run-book.js';
import type { PoolOptions, ResolvedPoolOptions } from './pool-options.js';
import { isChannelMessage, isProgress, threadWorkerName } from './wire.js';
import { wireStartAt } from './wire.js';
import type { AbortMessage, BatchMessage, LogMessage, PingMessage, RecallMessage, ResultMessage, ResultsMessage, TaskMessage, ThreadWorkerData, WorkerReply } from './wire.js';
import { lostRunError } from './thread-death.js';
import { type Placement, type PlacedRun as Run, type Thread, ThreadPlacement } from './thread-placement.js';
import { resolveWorkerEntry } from './worker-entry.js';
import { relayLine } from './worker-output.js';

export type ThreadExecutorOptions = PoolOptions;
export type ResolvedThreadExecutorOptions = ResolvedPoolOptions;

/** What a `done` id stands for: one shared result, read only. */
const SUCCEEDED: Result = Object.freeze({ ok: true, output: undefined });

/** Runs claimed ahead are short: one still queued on its thread this long after it was sent is recalled. */
const RECALL_AFTER_MS = 50;

/**
 * Runs tasks on a piscina pool of worker threads. A run is aborted through its ctx.signal; a
 * handler still going `killGraceMs` later has its thread terminated and replaced. Piscina's own
 * abort (`run(task, { signal })`) is not used: it terminates the thread at once, with no grace,
 * and a thread holding an abortable task takes no other run.
 */
export class ThreadExecutor implements Executor {
  readonly mode = 'threads';
  readonly options: ResolvedThreadExecutorOptions;
  readonly capacity: number;
  readonly workers: number;
  readonly #channelName = `spindle-threads-${randomUUID()}`;
  readonly #book: RunBook<Run>;
  readonly #threads = new Map<number, Thread>();
  readonly #placement: ThreadPlacement;
  #logger: Logger | undefined;
  #pool: Piscina | null = null;
  #channel: BroadcastChannel | null = null;

  constructor(options: ThreadExecutorOptions = {}) {
    this.options = resolvePoolOptions(options);
    this.capacity = this.options.workers * this.options.runsPerWorker;
    this.workers = this.options.workers;
    this.#logger = options.logger;
    this.#book = new RunBook<Run>({
      owner: 'ThreadExecutor',
      killGraceMs: this.options.killGraceMs,
      // Queued on a thread, a run has not started on it: it may yet run on another.
      workerName: (run) => (run.queued ? null : run.thread?.name) ?? 'thread-pending',
      dispatch: (waiting) => this.#dispatch(waiting),
      signal: (run) => this.#sendAbort(run),
      kill: (run, why) => {
        // Not on a thread yet, or queued there behind other runs: the book starts a new grace
        // once its thread takes it (placed, started), and kills no run that was not aborted.
        if (run.thread === null || run.queued) return false;
        this.#terminate(run.thread, why);
        return true;
      },
      released: (run) => {
        if (run.thread !== null) run.thread.load--;
      },
    });
    this.#placement = new ThreadPlacement({
      runsPerWorker: this.options.runsPerWorker,
      workers: this.options.workers,
      poolThreads: () => this.#pool?.threads ?? [],
      known: (threadId) => this.#threads.get(threadId),
      threadFor: (threadId) => this.#threadFor(threadId),
      placed: (run) => this.#book.placed(run),
    });
  }

  busy(): number {
    return Math.min(this.#book.size, this.capacity);
  }

  /** Creates the pool and waits until every thread has loaded the worker entry. */
  async start(): Promise<void> {
    if (this.#book.closed) throw new Error('ThreadExecutor: start() after close()');
    if (this.#pool !== null) return;
    const { workers, runsPerWorker, workerMemoryMb, logLevel } = this.options;
    const entry = resolveWorkerEntry('thread-worker');
    const channel = new BroadcastChannel(this.#channelName);
    channel.unref();
    channel.onmessage = (event) => this.#onChannelMessage((event as MessageEvent).data);
    const pool = new Piscina({
      filename: entry.filename,
      ...(entry.execArgv !== undefined ? { execArgv: entry.execArgv } : {}),
      minThreads: workers,
      maxThreads: workers,
      concurrentTasksPerWorker: runsPerWorker,
      resourceLimits: { maxOldGenerationSizeMb: workerMemoryMb },
      workerData: { channel: this.#channelName, logLevel } satisfies ThreadWorkerData,
      loadBalancer: this.#placement.balance,
      // Piscina's default parks an idle thread in Atomics.wait, freezing what handlers left
      // running: a keep-alive socket misses its close, a stray timer fires during the next run and
      // is blamed on it. Plain messages keep every thread's event loop turning; measured no slower.
      atomics: 'disabled',
      recordTiming: false,
    });
    // Without a listener, a thread dying while it holds no run would throw in this thread.
    pool.on('error', (err: unknown) => this.#log().error({ err }, 'a worker thread died while it held no run; it is replaced'));
    pool.on('message', (message: unknown) => {
      const type = typeof message === 'object' && message !== null ? (message as { type?: unknown }).type : undefined;
      if (type === 'spindle-results') {
        const { results, done, started, returned } = message as ResultsMessage;
        for (const result of results) this.#resultArrived(result);
        for (const runId of done) this.#succeeded(runId);
        const run = started === undefined ? undefined : this.#book.get(started);
        if (run !== undefined) this.#book.started(run);
        if (returned !== undefined) this.#giveBack(returned.map((runId) => this.#book.get(runId)).filter((r) => r !== undefined));
      } else if (type === 'spindle-log') {
        relayLine(this.#log(), 'stdout', (message as LogMessage).line.replace(/\n$/, ''), {});
      }
    });
    this.#pool = pool;
    this.#channel = channel;
    try {
      await Promise.all(Array.from({ length: workers }, () => pool.run({ type: 'ping' } satisfies PingMessage)));
    } catch (err) {
      this.#pool = null;
      this.#channel = null;
      await pool.destroy();
      channel.close();
      throw new Error(`worker threads failed to start from ${entry.filename}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  run(request: RunRequest, listener: RunListener): void {
    // After close() the book refuses the run as CANCELLED: that is no programming error.
    if (this.#pool === null && !this.#book.closed) throw new Error('ThreadExecutor: run() before start()');
    // Not a spread copy of the booked run: that built the run twice over, per run.
    const run = bookedRun(request, listener) as Run;
    run.thread = null;
    this.#book.add(run);
  }

  /**
   * Sends waiting runs to the threads with room, as many per message as each can take, and those
   * beyond every free slot (runs claimed ahead) queued behind them, up to MAX_QUEUED_PER_WORKER per
   * thread, shared among the threads with room: one message, one wake of the thread and one promise
   * for many runs, and the thread goes on to the next the moment one ends, not a round trip through
   * this thread later. When every thread is full they stay in the book until a release; when a
   * thread is being replaced they go to piscina's queue, which places them once the new thread is ready.
   */
  #dispatch(waiting: Run[]): void {
    while (waiting.length > 0) {
      const { target, threads, lanes } = this.#placement.room();
      if (target === null) {
        if (this.#placement.allThreadsLive()) return;
        this.#send(waiting.splice(0, 1), null, 1);
        continue;
      }
      const free = this.options.runsPerWorker - target.load;
      this.#send(waiting.splice(0, free + this.#placement.behind(waiting, free, lanes, threads)), target, free);
    }
  }

  /** `lanes`: how many of the runs start at once; the rest queue behind them on the thread. */
  #send(runs: Run[], target: Thread | null, lanes: number): void {
    for (let i = lanes; i < runs.length; i++) runs[i]!.queued = true;
    const message: TaskMessage | BatchMessage = runs.length === 1 ? taskMessage(runs[0]!.request) : batchMessage(runs, lanes);
    // The balancer learns what it places from piscina's queue-options slot. Structured clone
    // skips symbol keys, so the placement never travels to the worker. A plain store, not
    // Object.defineProperty: one message per run when each thread takes one at a time.
    (message as { [queueOptionsSymbol]?: Placement })[queueOptionsSymbol] = { runs, message, target };
    // Counted at once, not when piscina places the message: it may queue it, and the next batch
    // cut in this turn must not count the same free slots again.
    if (target !== null) target.load += runs.length;
    if (runs.length > lanes) this.#recallLater(runs.slice(lanes));
    this.#pool!.run(message).then(
      (reply: WorkerReply) => {
        if (reply.type === 'batch') {
          for (const result of reply.results) this.#resultArrived(result);
          for (const runId of reply.done) this.#succeeded(runId);
        } else {
          this.#finished(runs[0]!, reply);
        }
      },
      (err: unknown) => this.#giveBack(runs.filter((run) => this.#lost(run, err))),
    );
  }

  /**
   * Runs queued behind a run that takes far longer than runs claimed ahead do (they are short) are
   * given back after RECALL_AFTER_MS, to go to the first thread free, as they would had they waited
   * here: a slow run holds up no more than its own thread.
   */
  #recallLater(queued: Run[]): void {
    const timer = setTimeout(() => {
      const waiting = queued.find((run) => run.queued && this.#book.holds(run) && run.thread !== null);
      if (waiting === undefined) return;
      this.#channel?.postMessage({ type: 'recall', runId: waiting.request.runId, worker: waiting.thread!.name } satisfies RecallMessage);
    }, RECALL_AFTER_MS);
    timer.unref();
  }

  /** Queued runs that will not start on their thread: they wait for the first thread with room, in order. */
  #giveBack(runs: Run[]): void {
    const back = runs.filter((run) => run.queued);
    for (const run of back) {
      if (run.thread !== null) run.thread.load--;
      run.thread = null;
    }
    this.#book.unstarted(back);
  }

  #resultArrived(result: ResultMessage): void {
    const run = this.#book.get(result.runId);
    if (run !== undefined) this.#finished(run, result);
  }

  /** A run of a batch succeeded with no output and no progress (a `done` id). */
  #succeeded(runId: string): void {
    const run = this.#book.get(runId);
    if (run === undefined) return;
    this.#book.settled(run, SUCCEEDED);
    this.#book.release(run);
  }

  abort(runId: string, reason: AbortReason): void {
    this.#book.abort(runId, reason);
  }

  close(graceMs: number): Promise<void> {
    return this.#book.close(graceMs, async () => {
      // Terminates every thread still busy and waits for each to exit.
      await this.#pool?.destroy();
      this.#channel?.close();
    });
  }

  #threadFor(threadId: number): Thread | undefined {
    const known = this.#threads.get(threadId);
    if (known !== undefined) return known;
    const worker = this.#pool?.threads.find((w) => w.threadId === threadId);
    if (worker === undefined) return undefined;
    const thread: Thread = { name: threadWorkerName(threadId), worker, death: null, terminatedFor: null, exited: false, waiting: [], load: 0 };
    // Registered after piscina's own listeners, which reject the thread's runs: the cause is
    // recorded here before those rejections reach #lost, a microtask later.
    worker.on('error', (error: unknown) => {
      thread.death ??= { error };
    });
    worker.once('exit', (exitCode: number) => {
      thread.death ??= { exitCode };
      thread.exited = true;
      this.#threads.delete(threadId);
      this.#giveBack(thread.waiting.splice(0).filter(({ run, reason }) => this.#lost(run, reason)).map(({ run }) => run));
    });
    this.#threads.set(threadId, thread);
    return thread;
  }

  #onChannelMessage(data: unknown): void {
    if (!isChannelMessage(data) || data.type !== 'progress' || !isProgress(data.progress)) return;
    const run = this.#book.get(data.runId);
    if (run !== undefined) this.#book.progress(run, data.progress);
  }

  #finished(run: Run, reply: WorkerReply): void {
    if (reply.type === 'result') {
      if (!run.reported && reply.progress !== undefined) this.#book.progress(run, reply.progress);
      // The reply is a Result as it is (the book reads ok, output and error): no copy per run.
      this.#book.settled(run, reply);
    }
    this.#book.release(run);
  }

  /**
   * Piscina failed the run: its thread died or was terminated, or the pool is being destroyed. A
   * run still queued there never started: it waits for another thread, as a run no thread took
   * yet (true: give it back). Whether it started is known only once the thread has exited (its
   * last messages arrive first), so a queued run waits for that; the others are reported at once,
   * released then.
   */
  #lost(run: Run, reason: unknown): boolean {
    if (!this.#book.holds(run)) return false;
    const thread = run.thread;
    const dying = thread !== null && !thread.exited && (thread.death !== null || thread.terminatedFor !== null);
    if (run.queued && !dying) return true;
    if (!run.reported && !run.queued) this.#book.report(run, { ok: false, error: lostRunError(thread, reason, this.options.workerMemoryMb) });
    if (dying) thread.waiting.push({ run, reason });
    else this.#book.release(run);
    return false;
  }

  #sendAbort(run: Run): void {
    if (run.thread === null || run.abortedBy === null) return;
    this.#channel?.postMessage({ type: 'abort', runId: run.request.runId, worker: run.thread.name, cause: run.abortedBy } satisfies AbortMessage);
  }

  #terminate(thread: Thread, why: string): void {
    if (thread.exited || thread.terminatedFor !== null) return;
    thread.terminatedFor = why;
    this.#log().warn({ worker: thread.name }, `terminating ${thread.name}: ${why}`);
    // Piscina sees the exit, fails what else the thread held and starts a replacement.
    void thread.worker.terminate();
  }

  #log(): Logger {
    this.#logger ??= pino({ level: this.options.logLevel });
    return this.#logger;
  }
}

/** The runs of one message, as a BatchMessage's columns; `lanes`: how many start at once. */
function batchMessage(runs: readonly Run[], lanes: number): BatchMessage {
  const n = runs.length;
  const batch: BatchMessage = { type: 'batch', runIds: new Array<string>(n), taskIds: new Array<string>(n), kinds: new Array<number>(n), types: [], modules: [], params: new Array<unknown>(n), attempts: new Array<number>(n) };
  for (let i = 0; i < n; i++) {
    const request = runs[i]!.request;
    batch.runIds[i] = request.runId;
    batch.taskIds[i] = request.taskId;
    let kind = 0;
    while (kind < batch.types.length && (batch.types[kind] !== request.type || batch.modules[kind] !== request.modulePath)) kind++;
    if (kind === batch.types.length) {
      batch.types.push(request.type);
      batch.modules.push(request.modulePath);
    }
    batch.kinds[i] = kind;
    batch.params[i] = request.params;
    batch.attempts[i] = request.attempt;
    const startAt = wireStartAt(request);
    if (startAt !== undefined) (batch.startAt ??= runs.map(() => null))[i] = startAt;
  }
  if (lanes < n) batch.lanes = lanes;
  return batch;
}

function taskMessage(request: RunRequest): TaskMessage {
  const message: TaskMessage = { type: 'run', runId: request.runId, taskId: request.taskId, taskType: request.type, modulePath: request.modulePath, params: request.params, attempt: request.attempt };
  const startAt = wireStartAt(request);
  if (startAt !== undefined) message.startAt = startAt;
  return message;
}
