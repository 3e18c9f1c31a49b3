import type { TaskState } from '../task/state.js';
import type { Batch } from './index-writes.js';
import { counterKey, pausedCountKey } from './keys.js';
import { countPaused, type RangeReads } from './level-reads.js';
import type { StateCounts, TaskStore } from './store.js';

/** What a batch's count deltas give: the rows it puts, to keep once it is written. */
export interface CountRowsWrite {
  counts: Map<string, StateCounts>;
  paused: Map<string, number>;
}

/**
 * The count rows of the LevelDB store (tasks per type and state, `c!<type>`; paused open tasks
 * per type, `cp!<type>`) as last written. Batches carry deltas; each row they touch is written
 * whole, added to the row kept here: this process is the only writer (the lock).
 */
export class CountRows {
  #counts = new Map<string, StateCounts>();
  #paused = new Map<string, number>();

  /** `decode` parses a stored row, or reports it damaged. */
  async load(ranges: RangeReads, decode: (text: string, key: string) => StateCounts): Promise<void> {
    const entries = await ranges.entries({ gte: 'c!', lt: 'c!\xff' });
    this.#counts = new Map(entries.map(([k, v]) => [k.slice(2), decode(v, k)]));
  }

  /**
   * Paused counts as written. A store made before they were kept (`kept` false) has them counted
   * once from the open tasks and written with `markKept` in the same batch (repair rebuilds them too).
   */
  async loadPaused(
    ranges: RangeReads, kept: boolean, store: Pick<TaskStore, 'idsInState' | 'getTasks'>, write: (put: (batch: Batch) => void) => Promise<void>,
  ): Promise<void> {
    const entries = await ranges.entries({ gte: 'cp!', lt: 'cp!\xff' });
    this.#paused = new Map(entries.map(([k, v]) => [k.slice(3), Number(v)]));
    if (kept) return;
    const counted = await countPaused(store);
    await write((batch) => {
      for (const [type, n] of counted) batch.put(pausedCountKey(type), Buffer.from(String(n)));
    });
    this.#paused = counted;
  }

  /** Puts into `batch` the rows a batch's deltas give; keep them with written() once it is stored. */
  put(batch: Batch, deltas: ReadonlyMap<string, StateCounts>, pausedDeltas: ReadonlyMap<string, number> | undefined): CountRowsWrite {
    const counts = new Map<string, StateCounts>();
    for (const [type, delta] of deltas) {
      const row: StateCounts = { ...this.#counts.get(type) };
      for (const [state, n] of Object.entries(delta) as Array<[TaskState, number]>) {
        const count = (row[state] ?? 0) + n;
        if (count === 0) delete row[state];
        else row[state] = count;
      }
      counts.set(type, row);
      batch.put(counterKey(type), Buffer.from(JSON.stringify(row)));
    }
    const paused = new Map<string, number>();
    for (const [type, n] of pausedDeltas ?? []) {
      if (n === 0) continue;
      const count = (this.#paused.get(type) ?? 0) + n;
      paused.set(type, count);
      batch.put(pausedCountKey(type), Buffer.from(String(count)));
    }
    return { counts, paused };
  }

  /** The batch carrying these rows was written. */
  written(rows: CountRowsWrite): void {
    for (const [type, counts] of rows.counts) this.#counts.set(type, counts);
    for (const [type, n] of rows.paused) this.#paused.set(type, n);
  }

  /** Every type counted so far. */
  types(): IterableIterator<string> {
    return this.#counts.keys();
  }

  counts(): Map<string, StateCounts> {
    return new Map([...this.#counts].map(([type, c]) => [type, { ...c }]));
  }

  paused(): Map<string, number> {
    return new Map(this.#paused);
  }
}
