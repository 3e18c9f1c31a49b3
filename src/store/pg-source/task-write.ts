import type { PoolClient } from 'pg';
import type { SpindleEvent } from '../../api/events.js';
import { goneAtEnd, type RunRecord, type TaskRecord } from '../../task/record.js';
import type { TaskState } from '../../task/state.js';
import { isDispatchable, pausedOf } from '../keys.js';
import { countRun } from '../run-series.js';
import { errorWordsOf } from '../search-keys.js';
import type { SeriesDelta } from '../store.js';
import type { Decide, WriteContext } from '../task-source.js';
import type { HistoryChunk, Holder, LoadedTask, TaskChange } from './rows.js';
import { claimsBefore, type ClaimKey } from './claim-cursor.js';
import { deleteEnded, insertHistory, insertRuns, insertTasks, loaded, updateTasks, type LoadedRow } from './rows.js';
import type { KeptRecords } from './kept-records.js';
import { CHANNEL, notifyPayloads, type Notice } from './notices.js';
import { addSeries, deleteErrorWords, SERIES_SLOTS, type ErrorWord, insertErrorWords } from './derived-rows.js';
import { CountMoves } from './pg-counts.js';

/** History kept in the record; past it the oldest chunk moves to spindle_history (as the LevelDB store does). */
const HISTORY_SPILL_AT = 64;
const HISTORY_CHUNK = 32;
/** Inserted tasks due this soon are kept for their claim (later ones would only take room). */
const KEEP_DUE_WITHIN_MS = 60_000;

/**
 * The changes of one transaction: decisions are applied to the records it read, and what they
 * changed is written at the end in one statement per table. It is the decisions' WriteContext:
 * `now` is the database's instant of the transaction, and what they ask to run after the write
 * runs once the transaction has committed.
 */
export class TaskWrite implements WriteContext {
  #now: number;
  /** How the counts moved (written to spindle_counts in this transaction, added to the reader's counts once committed). */
  readonly counts = new CountMoves();
  /** Runs started and ended, per type and minute (added to spindle_series in this transaction). */
  readonly series = new Map<string, SeriesDelta>();
  /** The earliest due time this write gave a dispatchable task (Infinity: none). */
  due = Infinity;
  /** The first in claim order of the tasks this write left dispatchable (see ClaimCursors). */
  first: ClaimKey | null = null;
  readonly #after: Array<() => void> = [];
  readonly #inserts: Array<{ rec: TaskRecord; holder: Holder }> = [];
  readonly #updates = new Map<string, TaskChange>();
  /** Tasks deleted by the decision that ended them (goneAtEnd), with the versions they were read at. */
  readonly #ended = new Map<string, { rec: TaskRecord; version: number }>();
  readonly #runs: RunRecord[] = [];
  readonly #history: HistoryChunk[] = [];
  readonly #notices: Notice[] = [];
  /** What the decisions announced: sent to the other runtimes with the commit, emitted here after it. */
  readonly events: SpindleEvent[] = [];
  /**
   * Events are built whoever listens (a few objects): whether they are sent is decided at the flush,
   * as late as can be, and this runtime's listeners get them if they are there at the commit.
   */
  readonly announcing = true;
  readonly #wordsAdded: ErrorWord[] = [];
  readonly #wordsRemoved: ErrorWord[] = [];

  readonly #kept: KeptRecords | null;

  readonly #listened: () => boolean;

  /**
   * `kept`: the source's records of the tasks it inserted (none: every row's record is parsed);
   * `listened`: whether some runtime listens, as the source knows now.
   */
  constructor(now: number, kept: KeptRecords | null = null, listened: () => boolean = () => true) {
    this.#now = now;
    this.#kept = kept;
    this.#listened = listened;
  }

  get listened(): boolean {
    return this.#listened();
  }

  /** A row selected with LOADED_COLUMNS, for a change in this transaction. */
  loaded(row: LoadedRow): LoadedTask {
    return loaded(row, this.#kept?.take(row.id, row.version));
  }

  /**
   * The transaction's start, moved up to the newest version it changes: under READ COMMITTED a
   * row committed after the transaction began can still be read and locked by it (a claim whose
   * transaction began just before the submit committed), and a decision must never be dated
   * before the version it replaces (history in order, no run started before its task was placed).
   */
  get now(): number {
    return this.#now;
  }

  afterWrite(fn: () => void): void {
    this.#after.push(fn);
  }

  /** Nothing to do: due times are the database's, the same on every runtime and after a restart. */
  retrying(): void {}

  announce(event: SpindleEvent): void {
    this.events.push(event);
  }

  /** A new task (built by a decision already applied). */
  created(rec: TaskRecord): void {
    this.counts.move(rec.type, null, { state: rec.state, paused: pausedOf(rec) });
    this.#words(rec.id, [], errorWordsOf(rec));
    this.#spill(rec);
    this.#noteDue(rec);
    this.#inserts.push({ rec, holder: { owner: null, leaseUntil: null } });
  }

  /** Applies a decision to a loaded task; `holder` replaces its claim (a claim's), else it keeps the one it has. */
  apply<T>(task: LoadedTask, decide: Decide<T>, holder: Holder = task): T {
    const rec = task.rec;
    if (rec.updatedAt > this.#now) this.#now = rec.updatedAt;
    const before = { state: rec.state, run: rec.lastRun, paused: pausedOf(rec), due: rec.nextRunAt, words: errorWordsOf(rec) };
    const out = decide(rec, this);
    countRun(this.series, rec, before.run, before.due, this.now);
    if (goneAtEnd(rec)) {
      // Its rows go with it (deleteEnded): no update, no earlier run or history kept, no error words.
      this.counts.move(rec.type, before, null);
      this.#updates.delete(rec.id);
      this.#ended.set(rec.id, { rec, version: task.version });
      return out;
    }
    this.counts.move(rec.type, before, { state: rec.state, paused: pausedOf(rec) });
    this.#words(rec.id, before.words, errorWordsOf(rec));
    // The record keeps its last run; the one it replaced is kept in spindle_runs.
    if (before.run !== null && rec.lastRun?.run !== before.run.run) this.#runs.push(before.run);
    this.#spill(rec);
    this.#noteDue(rec);
    this.#updates.set(rec.id, { rec, holder, version: task.version });
    return out;
  }

  /** A task deleted (retention, or an operator's delete): it leaves the counts. Its rows go with it (deleteTasks). */
  deleted(type: string, state: TaskState, { paused }: { paused: boolean }): void {
    this.counts.move(type, { state, paused }, null);
  }

  /** Tells the other runtimes something at commit (at most one notice of each kind is worth sending). */
  notice(n: Notice): void {
    this.#notices.push(n);
  }

  /**
   * Writes the changes; the events go to the other runtimes only `withEvents` (some runtime
   * listens), the first of their payloads with `seq` (see EventOrder).
   */
  async flush(client: PoolClient, from: string, withEvents = true, seq: number | null = null): Promise<void> {
    // Updates first: one may free a key (a hold run out) that an insert takes.
    await updateTasks(client, [...this.#updates.values()]);
    await deleteEnded(client, [...this.#ended.values()]);
    await insertTasks(client, this.#inserts);
    // What an earlier decision in this write kept of a task deleted since is not written.
    const kept = <T extends { taskId: string }>(rows: T[]): T[] => (this.#ended.size === 0 ? rows : rows.filter((r) => !this.#ended.has(r.taskId)));
    await insertRuns(client, kept(this.#runs));
    await insertHistory(client, kept(this.#history));
    await deleteErrorWords(client, kept(this.#wordsRemoved));
    await insertErrorWords(client, kept(this.#wordsAdded));
    // Last: the count and series rows are shared by every runtime, so they are held for as short a
    // time as can be: both statements go with the COMMIT, in its round trip.
    this.counts.write(client);
    addSeries(client, this.series, Math.floor(Math.random() * SERIES_SLOTS));
    const notices = this.due === Infinity ? this.#notices : [...this.#notices, { due: this.due }];
    // One pg_notify statement per transaction: PostgreSQL delivers its payloads at commit, together and in order, to every listener.
    const payloads = notifyPayloads(from, notices, withEvents ? this.events : [], seq);
    if (payloads.length > 0) await client.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [CHANNEL, payloads]);
  }

  /** Tasks this write deleted as it ended them (goneAtEnd). */
  get removed(): number {
    return this.#ended.size;
  }

  /** The transaction committed: runs what the decisions asked for after the write. */
  committed(): void {
    for (const fn of this.#after) fn();
    this.#kept?.keep(this.#inserts, this.#now + KEEP_DUE_WITHIN_MS);
  }

  /** A task's error words moved from `was` to `now` (most changes leave both empty). */
  #words(taskId: string, was: readonly string[], now: readonly string[]): void {
    if (was.length === 0 && now.length === 0) return;
    const adding = new Set(now);
    for (const word of was) if (!adding.delete(word)) this.#wordsRemoved.push({ word, taskId });
    for (const word of adding) this.#wordsAdded.push({ word, taskId });
  }

  #spill(rec: TaskRecord): void {
    if (rec.history.length < HISTORY_SPILL_AT) return;
    this.#history.push({ taskId: rec.id, chunk: rec.historyChunks, entries: rec.history.splice(0, HISTORY_CHUNK) });
    rec.historyChunks++;
  }

  #noteDue(rec: TaskRecord): void {
    if (!isDispatchable(rec)) return;
    if (rec.nextRunAt < this.due) this.due = rec.nextRunAt;
    if (this.first === null || claimsBefore(rec.priority, rec.nextRunAt, rec.id, this.first)) this.first = { priority: rec.priority, due: rec.nextRunAt, id: rec.id };
  }
}
