/** Paused open tasks per type, moved as tasks are paused, resumed or end (never counted by a scan); like StateCountTable. */
export class PausedCounts {
  #live = new Map<string, number>();
  #committed = new Map<string, number>();

  load(counts: ReadonlyMap<string, number>): void {
    this.#live = new Map(counts);
    this.#committed = new Map(counts);
  }

  add(type: string, delta: number, pending: Map<string, number>): void {
    this.#live.set(type, (this.#live.get(type) ?? 0) + delta);
    pending.set(type, (pending.get(type) ?? 0) + delta);
  }

  committed(deltas: ReadonlyMap<string, number>): void {
    for (const [type, n] of deltas) this.#committed.set(type, (this.#committed.get(type) ?? 0) + n);
  }

  rollBack(): void {
    this.#live = new Map(this.#committed);
  }

  of(type: string): number {
    return this.#live.get(type) ?? 0;
  }
}
