import type { Executor } from '../executor/executor.js';
import type { ClaimPool, Claim } from '../store/task-source.js';
import type { Registry, TaskType } from '../task/registry.js';

/** A claim's hold on its pools: what it asked for, to give back what it did not take. */
export interface SlotHold {
  pools: Array<ClaimPool & { executor: Executor }>;
}

/**
 * Run slots: how many runs each executor and each type may take now. A claim holds every free
 * slot of its pools while it is in flight (so two claims cannot both fill the same slot), and
 * gives back what it did not take when it lands; a run's slot is freed when its worker is.
 */
export class Slots {
  readonly #registry: Registry;
  readonly #executorFor: (type: TaskType) => Executor;
  readonly #pausedTypes: () => ReadonlySet<string>;
  readonly #reserved = new Map<Executor, number>();
  readonly #typeBusy = new Map<string, number>();
  /** The registry's types grouped by the executor that runs them (the registry does not change). */
  #byExecutor: Map<Executor, TaskType[]> | null = null;

  /** `pausedTypes`: types an operator paused, whose due tasks no claim asks for. */
  constructor(registry: Registry, executorFor: (type: TaskType) => Executor, pausedTypes: () => ReadonlySet<string>) {
    this.#registry = registry;
    this.#executorFor = executorFor;
    this.#pausedTypes = pausedTypes;
  }

  /** Holds every free slot, per pool with its types' own limits (a type's concurrency). */
  hold(): SlotHold {
    const pools: SlotHold['pools'] = [];
    for (const [executor, types] of this.#groups()) {
      const free = executor.capacity - (this.#reserved.get(executor) ?? 0);
      if (free <= 0) continue;
      const limits = new Map<string, number>();
      const paused = this.#pausedTypes();
      for (const type of types) {
        if (paused.has(type.name)) continue;
        const n = type.concurrency === null ? free : Math.min(free, type.concurrency - (this.#typeBusy.get(type.name) ?? 0));
        if (n > 0) limits.set(type.name, n);
      }
      if (limits.size === 0) continue;
      this.#reserved.set(executor, (this.#reserved.get(executor) ?? 0) + free);
      pools.push({ executor, free, types: limits });
    }
    return { pools };
  }

  /** The claim landed: its runs keep their slots, the rest go back. */
  settle(hold: SlotHold, claims: readonly Claim[]): void {
    const taken = new Map<Executor, number>();
    for (const { rec } of claims) {
      const type = this.#registry.types.get(rec.type)!;
      const executor = this.#executorFor(type);
      taken.set(executor, (taken.get(executor) ?? 0) + 1);
      this.#typeBusy.set(type.name, (this.#typeBusy.get(type.name) ?? 0) + 1);
    }
    for (const pool of hold.pools) this.#add(pool.executor, (taken.get(pool.executor) ?? 0) - pool.free);
  }

  /** The claim failed: every slot it held goes back. */
  giveBack(hold: SlotHold): void {
    for (const pool of hold.pools) this.#add(pool.executor, -pool.free);
  }

  /** A run's worker is free again. */
  release(executor: Executor, type: string): void {
    this.#add(executor, -1);
    this.#typeBusy.set(type, (this.#typeBusy.get(type) ?? 0) - 1);
  }

  #add(executor: Executor, delta: number): void {
    this.#reserved.set(executor, (this.#reserved.get(executor) ?? 0) + delta);
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
