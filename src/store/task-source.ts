import type { SpindleEvent } from '../api/events.js';
import type { HistoryEntry, RunRecord, TaskRecord } from '../task/record.js';
import type { MinuteCounts } from '../api/series.js';
import type { DueEntry, ListQuery, SearchQuery, StateCounts } from './store.js';

/**
 * What one decision may ask of the write that carries it. A decision runs inside the source's
 * write (for LevelDB: the group commit it joins; for a shared store: its transaction), so the
 * record it sees is the one the write replaces, wherever the task runs.
 */
export interface WriteContext {
  /** The instant of the write, in ms since the epoch. */
  readonly now: number;
  /** Runs `fn` once the write is durable (never if it fails). */
  afterWrite(fn: () => void): void;
  /** The decision made the task wait `delayMs` for a retry: a promise on the monotonic clock. */
  retrying(delayMs: number): void;
  /**
   * Whether `announce` is heard by anyone: false lets a decision skip building its events (the
   * LevelDB source while nobody here listens). A shared store is always announcing: events cost it
   * little until sent, and it decides at the end of the write whether another runtime listens.
   */
  readonly announcing: boolean;
  /**
   * Whether anyone listens now, as far as the source knows (absent: whenever it is announcing).
   * A shared store announces always but knows which runtimes listen: what only a listener needs
   * (the task a terminal event carries) is built only then.
   */
  readonly listened?: boolean;
  /**
   * An event this write makes true, delivered once the write is durable (never if it fails): to
   * this runtime's listeners, and on a shared store to every other runtime's too.
   */
  announce(event: SpindleEvent): void;
}

/**
 * A decision: a function of the record, applied by the source to the version it is about to
 * replace. It changes `rec` in place through the lifecycle (src/supervisor/transitions.ts), which
 * stays the one place that knows what a transition does, or throws to refuse (nothing is written).
 */
export type Decide<T = void> = (rec: TaskRecord, w: WriteContext) => T;

export interface NewTask {
  type: string;
  key: string | null;
  /** Builds the task, already submitted and placed, when no holder of its key returns one. */
  create(w: WriteContext): TaskRecord;
  /** The error to refuse the submit with when the key's holder is another task (other type or params); null: the same task. */
  conflict(holder: TaskRecord): Error | null;
}

export interface SubmitRequest {
  tasks: readonly NewTask[];
  /** Per type: open (non-terminal) tasks allowed at most, checked in the same write as the inserts. */
  maxQueued: ReadonlyMap<string, number>;
}

export interface Submitted {
  rec: TaskRecord;
  /** The key returned a task this submit did not create. */
  existing: boolean;
}

/** One pool of workers: how many runs it can take now, and per type how many of those at most. */
export interface ClaimPool {
  free: number;
  types: ReadonlyMap<string, number>;
}

export interface ClaimRequest {
  pools: readonly ClaimPool[];
  /**
   * Applied to each due task picked, in the claiming write: starts the run (returns its run
   * record, now the record's lastRun) or leaves the task waiting (null: a misfire skipped ahead).
   * A task may be picked up to the source's lead before its due time (`w.now` < its nextRunAt):
   * its run is then to start at the due time, not before.
   */
  start: Decide<RunRecord | null>;
}

export interface Claim {
  rec: TaskRecord;
  run: RunRecord;
}

/** The end of a claimed run: applied only while the claim's fence (this owner, this run number) holds. */
export interface Completion {
  taskId: string;
  run: number;
  decide: Decide;
}

/** `lost`: the fence no longer held (cancelled, or claimed again elsewhere); the outcome was dropped. */
export type CompletionResult = 'ok' | 'lost';

/** What the source tells the supervisor without being asked. */
export interface SourceSignals {
  /** Due times changed, or one came: claim again. */
  wake(): void;
  /** A run of this runtime may not go on: cancelled (here or elsewhere), or the source cannot vouch for it any more. */
  abort(taskId: string, run: number, reason: 'cancel' | 'lease'): void;
  /** Whether anyone here listens to events now. */
  listening(): boolean;
  /** An event written (by this runtime, or by another on a shared store), for this runtime's listeners. */
  emit(event: SpindleEvent): void;
  /** The tasks some listener here follows by id (a waiter), for what a shared store may have failed to deliver. */
  watchedTasks(): string[];
}

export interface SourceStart {
  /** The types this runtime has modules for. */
  types: ReadonlySet<string>;
  /** A run whose runtime is gone (crashed, killed, stopped without settling it): a lost try. */
  abandoned: Decide;
  /** A spooled task whose placing was interrupted: place it. */
  place: Decide;
  /**
   * An open task of a type that no runtime has a module for. Only a source that is the sole
   * runtime on its tasks (LevelDB: the lock) can know that; a shared store leaves them be.
   */
  orphaned: Decide;
}

/** Reads, with changes not yet written already visible (a task reads as its latest decision). */
export interface TaskReader {
  get(id: string): Promise<TaskRecord | undefined>;
  getMany(ids: readonly string[]): Promise<Array<TaskRecord | undefined>>;
  /** Task ids newest first. */
  listIds(query: ListQuery): Promise<string[]>;
  /** Dispatchable tasks in due order, strictly after (due, id) of `after`. */
  dueAfter(after: DueEntry | null, limit: number): Promise<DueEntry[]>;
  /** Every run of the task, in no particular order (the record's own last run included). */
  runs(rec: TaskRecord): Promise<RunRecord[]>;
  /** Every transition of the task, in order. */
  history(rec: TaskRecord): Promise<HistoryEntry[]>;
  /** Tasks per type and state. */
  counts(): ReadonlyMap<string, StateCounts>;
  /** Tasks of the type that are not terminal yet. */
  open(type: string): number;
  /** Open tasks of the type that are paused (kept like the counts, never counted by a scan). */
  paused(type: string): number;
  /** The type's oldest queued task (the first entry of its queued index), if any. */
  oldestQueued(type: string): Promise<TaskRecord | undefined>;
  /** The type's runs per minute in [fromMinute, toMinute], as written (a row per minute that had any). */
  series(type: string, fromMinute: number, toMinute: number): Promise<Array<{ minute: number; counts: MinuteCounts }>>;
  /** Search candidates newest first from an index, never a scan of the tasks (SearchQuery says what the index decides). */
  search(query: SearchQuery, scanLimit: number): Promise<{ ids: string[]; exhausted: boolean }>;
  /** Whether the source has ever counted a task of the type. */
  knows(type: string): boolean;
  /** The dispatch cache's state, for stats: tasks held, and whether it holds every due task. */
  window(): { size: number; complete: boolean };
}

/**
 * The seam between the supervisor and a store (SPEC §9): the supervisor decides, the source
 * applies decisions durably, fenced and in batches, and says when to look again. The LevelDB
 * source is one implementation (src/store/level-source/); a shared store is another.
 */
export interface TaskSource {
  readonly reader: TaskReader;
  /** Recovers what a crash or stop left, then starts announcing due work. */
  start(options: SourceStart, signals: SourceSignals): Promise<void>;
  /** All or none: keys and maxQueued are decided inside the write. */
  submit(request: SubmitRequest): Promise<Submitted[]>;
  /**
   * Claims due tasks of the pools' types within their limits; resolves once the starts are written.
   * Due means due by now plus the source's claim lead: about how long a claim takes to be written,
   * measured by the source (a LevelDB group commit, a database round trip and WAL flush), so that
   * the write is done by the due time. The source's wake-ups come that much ahead too. A run
   * claimed ahead is held by the caller until its startedAt (see `now`).
   */
  claim(request: ClaimRequest): Promise<Claim[]>;
  /**
   * The source's time now (ms since the epoch), on the clock of its writes' `now` and of due
   * times: for a shared store, the database's clock as estimated here, never ahead of it.
   */
  now(): number;
  /** Ends runs, one answer per item, in the order given. */
  complete(items: readonly Completion[]): Promise<CompletionResult[]>;
  /** Changes one task wherever it runs; resolves with the written record. NOT_FOUND when there is none. */
  update(id: string, decide: Decide): Promise<TaskRecord>;
  /**
   * Deletes one task with its runs and history, once `check` passes (it throws to refuse; nothing
   * is deleted). NOT_FOUND when there is none. Counts move with it.
   */
  delete(id: string, check: (rec: TaskRecord, now: number) => void): Promise<void>;
  /** The types whose due tasks are not claimed (an operator's setting, stored). */
  pausedTypes(): ReadonlySet<string>;
  /** Stores a type's pause or resume; resolves once written, and only then do claims follow it. */
  setTypePaused(type: string, paused: boolean): Promise<void>;
  /** Tasks deleted by the write that ended them (see goneAtEnd in src/task/record.ts) since start: those the sweep never sees. */
  readonly removedAtEnd: number;
  /** Deletes up to `limit` tasks past their retention and frees keys whose hold ran out; `more` when a full batch went. */
  sweep(limit: number): Promise<{ removed: number; more: boolean }>;
  /** Resolves once every decision taken so far is written (or failed). */
  flushed(): Promise<void>;
  /** Writes what is pending and takes no more. The store underneath is closed by its owner. */
  close(): Promise<void>;
  /**
   * This runtime's listeners came (the first subscribed: true) or all left (false). A shared store
   * tells the other runtimes, so that they announce only while some runtime listens.
   */
  listeners?(active: boolean): void;
}
