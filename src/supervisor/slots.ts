import type { Executor } from '../executor/executor.js';
import { MAX_QUEUED_PER_WORKER } from '../executor/pool-options.js';
import type { ClaimPool, Claim } from '../store/task-source.js';
import type { Registry, TaskType } from '../task/registry.js';

/** A claim's hold on its pools: what it asked for, to give back what it did not take. */
export interface SlotHold {
  /** `held`: the allowance held per type with a concurrency limit. */
  pools: Array<ClaimPool & { executor: Executor; held: Map<string, number> }>;
  /** A pool with free slots was left for a later claim, taking more of them at once. */
  deferred: boolean;
}

/**
 * Below this recent mean run time (ms) an executor claims runs ahead for its workers. A worker
 * whose runs are that short would otherwise idle through every write that ends its run and starts
 * the next (a group commit, ~0.2 ms and up); with runs claimed ahead, the next is at hand the
 * moment the current one ends and that write overlaps it. Longer runs gain nothing worth a task
 * shown `running` while it waits behind one, nor its try spent if the runtime is killed meanwhile.
 */
const CLAIM_AHEAD_BELOW_MS = 10;
/**
 * Runs claimed ahead per worker: about CLAIM_AHEAD_MS of its recent runs, at least CLAIM_AHEAD_MIN
 * (a write takes longer than a no-op run: with one ahead the worker still waits for the write that
 * starts the run after it), at most MAX_QUEUED_PER_WORKER. They go to the worker in one message,
 * queued there (src/executor/thread-executor.ts), and many per write: measured at the default
 * config (1 run per worker), 16 ahead cost the runtime's main thread about a third less CPU per
 * task than 2 (all its threads about a quarter less).
 */
const CLAIM_AHEAD_MS = 5;
const CLAIM_AHEAD_MIN = 2;
/**
 * While runs are claimed ahead, a claim waits until this share of them can be claimed again: the
 * rest keep the workers going meanwhile, and one claim, one write and one message to a worker then
 * carry several runs instead of one each.
 */
const CLAIM_WHEN_FREE = 0.5;
/**
 * While runs are claimed ahead, a claim also waits until this share of the executor's slots is
 * free (runs ahead included): with many runs per worker (runsPerWorker for async handlers) slots
 * free a few at a time, and on PostgreSQL a claim costs the server much the same for 10 tasks as
 * for 200 (it steps over the entries claimed tasks leave at the front of the queue's index until
 * VACUUM). Measured with 2 workers × 256 runs of no-op tasks: about 100 tasks a claim became
 * about 200, the server's time per task fell by about 30%, throughput rose by 15-30%; an eighth
 * and a half were both slower than a quarter. The dispatcher claims anyway after DEFER_AT_MOST_MS,
 * so slots left free by long runs of other types are not kept waiting for ones that end.
 */
const CLAIM_WHEN_POOL_FREE = 0.25;
/** How long a claim is deferred for more free slots at most (see CLAIM_WHEN_POOL_FREE). */
export const DEFER_AT_MOST_MS = 5;

/** The free slots a claim waits for while runs are claimed ahead (none while they are not). */
function claimFrom(capacity: number, ahead: number): number {
  if (ahead === 0) return 0;
  return Math.max(Math.ceil(ahead * CLAIM_WHEN_FREE), Math.ceil((capacity + ahead) * CLAIM_WHEN_POOL_FREE));
}

/**
 * Run slots: how many runs each executor and each type may take now. A claim holds every free
 * slot of its pools, and the allowance of every type with a concurrency limit, while it is in
 * flight (so two claims cannot both fill the same slot), and gives back what it did not take when
 * it lands; a run's slot is freed when its worker is. While an executor's runs are short it has
 * a few slots per worker more than its capacity: runs claimed ahead, booked by the executor until
 * a worker is free or queued on one (a type's concurrency still counts them).
 */
export class Slots {
  readonly #registry: Registry;
  readonly #executorFor: (type: TaskType) => Executor;
  readonly #pausedTypes: () => ReadonlySet<string>;
  readonly #reserved = new Map<Executor, number>();
  readonly #typeBusy = new Map<string, number>();
  /** Per executor, a moving mean of its runs' durations (none yet: no claim ahead). */
  readonly #recentMs = new Map<Executor, number>();
  /** The registry's types grouped by the executor that runs them (the registry does not change). */
  #byExecutor: Map<Executor, TaskType[]> | null = null;

  /** `pausedTypes`: types an operator paused, whose due tasks no claim asks for. */
  constructor(registry: Registry, executorFor: (type: TaskType) => Executor, pausedTypes: () => ReadonlySet<string>) {
    this.#registry = registry;
    this.#executorFor = executorFor;
    this.#pausedTypes = pausedTypes;
  }

  /**
   * Holds every free slot, per pool with its types' own limits (a type's concurrency). A type with
   * a concurrency limit has its whole allowance held too, so a second claim in flight cannot
   * start runs of it that the first will also start. `now`: no pool is deferred for more of its
   * slots to free.
   */
  hold(now = false): SlotHold {
    const pools: SlotHold['pools'] = [];
    let deferred = false;
    for (const [executor, types] of this.#groups()) {
      const ahead = this.#ahead(executor);
      const free = executor.capacity + ahead - (this.#reserved.get(executor) ?? 0);
      if (free <= 0) continue;
      // Runs claimed ahead keep the workers going meanwhile: one claim for several slots then.
      if (!now && free < claimFrom(executor.capacity, ahead)) {
        deferred = true;
        continue;
      }
      const limits = new Map<string, number>();
      const held = new Map<string, number>();
      const paused = this.#pausedTypes();
      for (const type of types) {
        if (paused.has(type.name)) continue;
        const n = type.concurrency === null ? free : Math.min(free, type.concurrency - (this.#typeBusy.get(type.name) ?? 0));
        if (n <= 0) continue;
        limits.set(type.name, n);
        if (type.concurrency !== null) held.set(type.name, n);
      }
      if (limits.size === 0) continue;
      this.#add(executor, free);
      for (const [type, n] of held) this.#addType(type, n);
      pools.push({ executor, free, types: limits, held });
    }
    return { pools, deferred };
  }

  /** The claim landed: its runs keep their slots, the rest go back. */
  settle(hold: SlotHold, claims: readonly Claim[]): void {
    const taken = new Map<Executor, number>();
    const takenOfType = new Map<string, number>();
    for (const { rec } of claims) {
      const executor = this.#executorFor(this.#registry.types.get(rec.type)!);
      taken.set(executor, (taken.get(executor) ?? 0) + 1);
      takenOfType.set(rec.type, (takenOfType.get(rec.type) ?? 0) + 1);
    }
    for (const pool of hold.pools) {
      this.#add(pool.executor, (taken.get(pool.executor) ?? 0) - pool.free);
      for (const type of pool.types.keys()) this.#addType(type, (takenOfType.get(type) ?? 0) - (pool.held.get(type) ?? 0));
    }
  }

  /** The claim failed: every slot it held goes back. */
  giveBack(hold: SlotHold): void {
    for (const pool of hold.pools) {
      this.#add(pool.executor, -pool.free);
      for (const [type, n] of pool.held) this.#addType(type, -n);
    }
  }

  /** A run's worker is free again; `ranMs`: how long it ran, when it did. */
  release(executor: Executor, type: string, ranMs: number | null): void {
    this.#add(executor, -1);
    this.#addType(type, -1);
    if (ranMs === null) return;
    const recent = this.#recentMs.get(executor);
    this.#recentMs.set(executor, recent === undefined ? ranMs : recent + (ranMs - recent) / 4);
  }

  #ahead(executor: Executor): number {
    const recent = this.#recentMs.get(executor);
    if (recent === undefined || recent >= CLAIM_AHEAD_BELOW_MS) return 0;
    const perWorker = recent * MAX_QUEUED_PER_WORKER <= CLAIM_AHEAD_MS ? MAX_QUEUED_PER_WORKER : Math.max(CLAIM_AHEAD_MIN, Math.floor(CLAIM_AHEAD_MS / recent));
    return executor.workers * perWorker;
  }

  #add(executor: Executor, delta: number): void {
    this.#reserved.set(executor, (this.#reserved.get(executor) ?? 0) + delta);
  }

  #addType(type: string, delta: number): void {
    this.#typeBusy.set(type, (this.#typeBusy.get(type) ?? 0) + delta);
  }

  #groups(): Map<Executor, TaskType[]> {
    if (this.#byExecutor === null) {
      this.#byExecutor = new Map();
      for (const type of this.#registry.types.values()) {
        const executor = this.#executorFor(type);
        const group = this.#byExecutor.get(executor);
        if (group === undefined) this.#byExecutor.set(executor, [type]);
        else group.push(type);
      }
    }
    return this.#byExecutor;
  }
}
