import type { HistoryEntry, RunRecord, TaskRecord } from '../task/record.js';
import type { StateCounts } from '../api/runtime-api.js';
import type { TaskState } from '../task/state.js';

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
}
