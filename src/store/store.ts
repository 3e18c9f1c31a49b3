import type { HistoryEntry, RunRecord, TaskRecord } from '../task/record.js';
import type { StateCounts } from '../api/runtime-api.js';
import type { TaskState } from '../task/state.js';
import type { MinuteCounts } from '../api/series.js';

/** Per-type counts of tasks in each state, kept in the store beside the tasks they count. */
export type { StateCounts } from '../api/runtime-api.js';

/**
 * One task's change in a group commit. `before` is the version the store holds now (null for a
 * new task), `after` the version to write (null to delete the task with its runs and history).
 * The store derives every index change from the two.
 */
export interface TaskChange {
  before: TaskRecord | null;
  after: TaskRecord | null;
}

export interface HistoryChunk {
  taskId: string;
  chunk: number;
  entries: HistoryEntry[];
}

/** Everything one group commit writes, atomically. */
export interface ChangeSet {
  tasks: TaskChange[];
  runs: RunRecord[];
  history: HistoryChunk[];
  /** Per type, how the counts of each state changed (deltas, added to the stored rows). */
  counters: Map<string, StateCounts>;
  /** Types paused (true) or resumed (false) by an operator. */
  typePauses?: ReadonlyMap<string, boolean>;
  /** Per type, how the number of paused open tasks changed (deltas). Absent: none changed. */
  paused?: Map<string, number>;
  /** Runs counted per type and minute (deltas, added to the stored rows). Absent: none. */
  series?: Map<string, SeriesDelta>;
}

/** One type's runs counted in one minute by one batch. */
export interface SeriesDelta {
  type: string;
  /** Minutes since the epoch. */
  minute: number;
  counts: MinuteCounts;
}

/** A search of the task key space and its indexes (src/store/search-keys.ts says which serves what). */
export interface SearchQuery {
  /** Ids starting with this. */
  idPrefix?: string;
  type?: string;
  /** Created at or after / before (ms since the epoch): ids carry their creation time. */
  from?: number;
  to?: number;
  /** Words, every one of which the error of a failed task must hold (its code, name, message). */
  words?: readonly string[];
  limit: number;
  /** Exclusive: the id the previous page ended with (newest first). */
  cursor?: string;
}

export interface ListQuery {
  state?: TaskState;
  type?: string;
  limit: number;
  /** Exclusive: the id the previous page ended with. */
  cursor?: string;
  /** Only tasks whose pause flag is set (by their own index; `state` does not apply). */
  paused?: boolean;
}

export interface DueEntry {
  id: string;
  due: number;
}

/**
 * The durable store behind the supervisor. The LevelDB store is the one built; the interface is
 * what a shared PostgreSQL store would implement later (SPEC §9).
 */
export interface TaskStore {
  open(): Promise<void>;
  close(): Promise<void>;
  /** Writes one change set atomically (one batch); fsyncs first when the store was opened with sync. */
  commit(changes: ChangeSet): Promise<void>;
  getTask(id: string): Promise<TaskRecord | undefined>;
  getTasks(ids: readonly string[]): Promise<Array<TaskRecord | undefined>>;
  /** The id of the task holding `key`: a live one, or an ended one within its key retention. */
  findKey(key: string): Promise<string | undefined>;
  /** Task ids newest first. */
  listIds(query: ListQuery): Promise<string[]>;
  /** Dispatchable tasks in due order, strictly after (due, id) of `after`. */
  dueAfter(after: DueEntry | null, limit: number): Promise<DueEntry[]>;
  /** Ids in one state (optionally one type), oldest first, after `cursor`. */
  idsInState(state: TaskState, limit: number, cursor?: string, type?: string): Promise<string[]>;
  runs(taskId: string): Promise<RunRecord[]>;
  historyChunks(taskId: string, chunks: number): Promise<HistoryEntry[]>;
  counters(): Promise<Map<string, StateCounts>>;
  /** The types an operator paused. */
  typePauses(): Promise<string[]>;
  /** Terminal tasks whose retention ran out by `now`, oldest first. */
  expired(now: number, limit: number): Promise<string[]>;
  /** Ended tasks whose hold on their idempotency key ran out by `now`, oldest first. */
  keysExpired(now: number, limit: number): Promise<string[]>;
  /** Paused open tasks per type, as last written. */
  pausedCounts(): Promise<Map<string, number>>;
  /** The per-minute rows of a type in [fromMinute, toMinute]. */
  series(type: string, fromMinute: number, toMinute: number): Promise<Array<{ minute: number; counts: MinuteCounts }>>;
  /** Deletes every type's rows of minutes before `minute`. */
  sweepSeries(minute: number): Promise<void>;
  /**
   * Candidate ids newest first, at most `scanLimit`, read from one index range (see
   * search-keys.ts): every id matches the query's range part; the caller checks the rest on the
   * records and pages on with the last id as cursor. `exhausted`: the range holds no more.
   */
  searchIds(query: SearchQuery, scanLimit: number): Promise<{ ids: string[]; exhausted: boolean }>;
}
