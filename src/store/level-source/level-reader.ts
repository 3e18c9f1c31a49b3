import type { HistoryEntry, RunRecord, TaskRecord } from '../../task/record.js';
import type { MinuteCounts } from '../../api/series.js';
import type { DueEntry, ListQuery, SearchQuery, StateCounts, TaskStore } from '../store.js';
import type { TaskReader } from '../task-source.js';
import type { CommitQueue } from './commit-queue.js';
import type { DueDispatch } from './due-dispatch.js';
import type { PausedCounts } from './run-counts.js';
import type { StateCountTable } from './state-counts.js';
import type { TaskCache } from './task-cache.js';

export interface LevelReaderParts {
  store: TaskStore;
  cache: TaskCache;
  commit: CommitQueue;
  counts: StateCountTable;
  paused: PausedCounts;
  due: DueDispatch;
}

/** Reads of the LevelDB source: the store's, with the tasks in memory (changed, not yet written) read as they are now. */
export class LevelReader implements TaskReader {
  readonly #p: LevelReaderParts;

  constructor(parts: LevelReaderParts) {
    this.#p = parts;
  }

  get(id: string): Promise<TaskRecord | undefined> {
    return this.#p.cache.read(id);
  }

  getMany(ids: readonly string[]): Promise<Array<TaskRecord | undefined>> {
    return this.#p.cache.readMany(ids);
  }

  listIds(query: ListQuery): Promise<string[]> {
    return this.#p.store.listIds(query);
  }

  dueAfter(after: DueEntry | null, limit: number): Promise<DueEntry[]> {
    return this.#p.store.dueAfter(after, limit);
  }

  async runs(rec: TaskRecord): Promise<RunRecord[]> {
    // Taken before the read: the runs replaced by a later one whose write has not landed yet (a
    // write landing during the read takes them off the queue, and the read may not see what it
    // wrote), and the run in the record (a run started during the read replaces it there).
    const unwritten = this.#p.commit.unwrittenRuns(rec.id);
    const last = rec.lastRun;
    const stored = await this.#p.store.runs(rec.id);
    const byRun = new Map(stored.map((r) => [r.run, r]));
    for (const r of unwritten) byRun.set(r.run, r);
    if (last !== null) byRun.set(last.run, last);
    return [...byRun.values()];
  }

  async history(rec: TaskRecord): Promise<HistoryEntry[]> {
    // Taken before the read, as in runs(): the chunks spilled in writes not landed yet, and the
    // entries the record holds now (a spill during the read moves them to a chunk not read).
    const held = rec.history.slice();
    const unwritten = this.#p.commit.unwrittenHistory(rec.id);
    // The chunks before the first unwritten one were written by earlier batches.
    const stored = await this.#p.store.historyChunks(rec.id, unwritten[0]?.chunk ?? rec.historyChunks);
    return [...stored, ...unwritten.flatMap((c) => c.entries), ...held];
  }

  counts(): ReadonlyMap<string, StateCounts> {
    return this.#p.counts.all();
  }

  open(type: string): number {
    return this.#p.counts.open(type);
  }

  paused(type: string): number {
    return this.#p.paused.of(type);
  }

  async oldestQueued(type: string): Promise<TaskRecord | undefined> {
    const [id] = await this.#p.store.idsInState('queued', 1, undefined, type);
    return id === undefined ? undefined : this.#p.cache.read(id);
  }

  series(type: string, fromMinute: number, toMinute: number): Promise<Array<{ minute: number; counts: MinuteCounts }>> {
    return this.#p.store.series(type, fromMinute, toMinute);
  }

  search(query: SearchQuery, scanLimit: number): Promise<{ ids: string[]; exhausted: boolean }> {
    return this.#p.store.searchIds(query, scanLimit);
  }

  knows(type: string): boolean {
    return this.#p.counts.has(type);
  }

  window(): { size: number; complete: boolean } {
    return { size: this.#p.due.size, complete: this.#p.due.complete };
  }
}
