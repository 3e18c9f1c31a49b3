/**
 * Where the ThreadExecutor's runs go: which thread has room for how many, how many runs to queue
 * behind those a thread starts at once, and piscina's balancer, which places each message on the
 * thread it was cut for (or, that one gone, on the least loaded live one).
 */
import type { Worker } from 'node:worker_threads';
import { type Piscina, queueOptionsSymbol } from 'piscina';
import { MAX_QUEUED_PER_WORKER } from './pool-options.js';
import type { BookedRun } from './run-book.js';
import type { ThreadDeath } from './thread-death.js';
import { type BatchMessage, markAborted, type TaskMessage } from './wire.js';

export type Balancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;
type PoolThread = Parameters<Balancer>[1][number];

export interface PlacedRun extends BookedRun {
  /** Set when piscina hands the run to a thread. */
  thread: Thread | null;
}

export interface Thread {
  readonly name: string;
  readonly worker: Worker;
  /** What ended it on its own: an uncaught error (a crash, the heap limit) or an exit code. */
  death: ThreadDeath | null;
  /** Why the executor terminated it, when it did. */
  terminatedFor: string | null;
  exited: boolean;
  /**
   * Runs lost with this thread, each with why piscina failed it: settled once it has exited, when
   * everything it posted has arrived (whether a queued run had started, above all).
   */
  readonly waiting: Array<{ run: PlacedRun; reason: unknown }>;
  /** Runs placed on it and not yet released. */
  load: number;
}

/** What piscina's queue-options slot carries to the balancer: the runs of one message. */
export interface Placement {
  runs: PlacedRun[];
  /** The message carrying them: still this object until piscina posts it. */
  message: TaskMessage | BatchMessage;
  /** The thread the batch was cut for; another is chosen if it has gone meanwhile. */
  target: Thread | null;
}

/** What the placement asks of its executor. */
export interface PlacementHooks {
  readonly runsPerWorker: number;
  readonly workers: number;
  /** The pool's threads now (none before the pool is made). */
  poolThreads(): ReadonlyArray<{ readonly threadId: number }>;
  /** The executor's record of a thread, if it has one yet. */
  known(threadId: number): Thread | undefined;
  /** The executor's record of a thread, made on first sight (undefined: the pool no longer has it). */
  threadFor(threadId: number): Thread | undefined;
  /** A run aborted while queued was placed on a thread (see RunBook.placed). */
  placed(run: PlacedRun): void;
}

/** The room on the live threads: see ThreadPlacement.room. */
export interface Room {
  target: Thread | null;
  threads: number;
  lanes: number;
}

export class ThreadPlacement {
  readonly #hooks: PlacementHooks;

  constructor(hooks: PlacementHooks) {
    this.#hooks = hooks;
  }

  /**
   * How many runs to queue behind the `free` a thread starts at once: a share of those beyond the
   * free slots of every thread with room. None while a thread is being replaced (it takes its share
   * once it is ready, from piscina's queue), nor with a run due at a set instant among them (sent
   * ahead of its due time): it would wait for the runs before it rather than for the first free thread.
   */
  behind(waiting: readonly PlacedRun[], free: number, lanes: number, threads: number): number {
    const behind = Math.min(MAX_QUEUED_PER_WORKER, Math.ceil(Math.max(0, waiting.length - lanes) / threads));
    if (behind === 0 || !this.allThreadsLive()) return 0;
    for (let i = 0; i < free + behind && i < waiting.length; i++) if (waiting[i]!.request.startAt !== undefined) return 0;
    return behind;
  }

  allThreadsLive(): boolean {
    const workers = this.#hooks.poolThreads();
    if (workers.length < this.#hooks.workers) return false;
    return workers.every((w) => {
      const thread = this.#hooks.threadFor(w.threadId);
      return thread !== undefined && thread.death === null && thread.terminatedFor === null;
    });
  }

  /**
   * The live thread with the most free slots (null when none has one: a thread is being replaced),
   * how many threads have a free slot and how many free slots they have together.
   */
  room(): Room {
    const { runsPerWorker } = this.#hooks;
    let target: Thread | null = null;
    let threads = 0;
    let lanes = 0;
    for (const worker of this.#hooks.poolThreads()) {
      const thread = this.#hooks.threadFor(worker.threadId);
      if (thread === undefined || thread.terminatedFor !== null || thread.death !== null || thread.load >= runsPerWorker) continue;
      threads++;
      lanes += runsPerWorker - thread.load;
      if (target === null || thread.load < target.load) target = thread;
    }
    return { target, threads, lanes };
  }

  /**
   * Places a message on the thread it was cut for, else on the least loaded thread (counting runs,
   * not messages), never on a thread being terminated.
   */
  readonly balance: Balancer = (task, candidates) => {
    const { runsPerWorker } = this.#hooks;
    const placement = task[queueOptionsSymbol] as Placement | null;
    const size = placement?.runs.length ?? 1;
    let best: PoolThread | null = null;
    let bestLoad = Infinity;
    for (const candidate of candidates) {
      const thread = this.#hooks.known(candidate.id);
      if (typeof thread?.terminatedFor === 'string') continue;
      // The runs are already counted in their target's load (see ThreadExecutor's #send).
      if (placement?.target != null && thread === placement.target) {
        best = candidate;
        break;
      }
      const load = thread?.load ?? candidate.currentUsage;
      // A free slot for its first run, and room to queue the others (see ThreadExecutor's #dispatch).
      if (load < bestLoad && load < runsPerWorker && load + size <= runsPerWorker + MAX_QUEUED_PER_WORKER) {
        best = candidate;
        bestLoad = load;
      }
    }
    if (best === null || placement === null) return best;
    const thread = this.#hooks.threadFor(best.id);
    if (thread === undefined) return null;
    if (thread !== placement.target) {
      if (placement.target !== null) placement.target.load -= size;
      thread.load += size;
    }
    placement.runs.forEach((run, i) => {
      run.thread = thread;
      if (run.abortedBy === null) return;
      // Aborted while queued: piscina posts the message right after this returns, so the mark
      // travels with it and the handler never starts; the kill grace restarts once it is posted.
      markAborted(placement.message, i, run.abortedBy);
      queueMicrotask(() => this.#hooks.placed(run));
    });
    return best;
  };
}
