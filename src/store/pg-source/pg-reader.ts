import { addMinute, type MinuteCounts } from '../../api/series.js';
import type { HistoryEntry, RunRecord, TaskRecord } from '../../task/record.js';
import { drivingWord, idBounds } from '../search-keys.js';
import { readable } from '../series-rows.js';
import type { DueEntry, ListQuery, SearchQuery, StateCounts } from '../store.js';
import type { TaskReader } from '../task-source.js';
import type { PgCounts } from './pg-counts.js';
import type { PgDatabase } from './pg-database.js';
import { taskOfColumn } from './rows.js';

const DISPATCHABLE = "state = 'queued' AND NOT paused AND next_run_at IS NOT NULL";
/** pausedOf (src/store/keys.ts) in SQL, as the paused-task index of migration 2 is defined. */
const PAUSED = "paused AND state IN ('spooled', 'queued', 'running')";
/** Ids are 19 characters of [0-9a-z] (src/task/task-id.ts): every id starting with a prefix sorts at or before the prefix padded with 'z'. */
const ID_LENGTH = 19;

/** Reads of the PostgreSQL source: every write is committed before it is answered, so reads are the database's. */
export class PgReader implements TaskReader {
  readonly #db: PgDatabase;
  readonly #counts: PgCounts;

  constructor(db: PgDatabase, counts: PgCounts) {
    this.#db = db;
    this.#counts = counts;
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const rows = await this.#db.query<{ record: string }>('SELECT record FROM spindle_tasks WHERE id = $1', [id]);
    return rows[0] === undefined ? undefined : taskOfColumn(rows[0].record);
  }

  async getMany(ids: readonly string[]): Promise<Array<TaskRecord | undefined>> {
    if (ids.length === 0) return [];
    const rows = await this.#db.query<{ id: string; record: string }>('SELECT id, record FROM spindle_tasks WHERE id = ANY($1::text[])', [ids]);
    const byId = new Map(rows.map((r) => [r.id, taskOfColumn(r.record)]));
    return ids.map((id) => byId.get(id));
  }

  async listIds(query: ListQuery): Promise<string[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (query.paused === true) where.push(PAUSED);
    else if (query.state !== undefined) where.push(`state = $${values.push(query.state)}`);
    if (query.type !== undefined) where.push(`type = $${values.push(query.type)}`);
    if (query.cursor !== undefined) where.push(`id < $${values.push(query.cursor)}`);
    const rows = await this.#db.query<{ id: string }>(
      `SELECT id FROM spindle_tasks ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${values.push(query.limit)}`, values);
    return rows.map((r) => r.id);
  }

  async dueAfter(after: DueEntry | null, limit: number): Promise<DueEntry[]> {
    const rows = after === null
      ? await this.#db.query<{ id: string; due: number }>(
        `SELECT id, next_run_at::float8 AS due FROM spindle_tasks WHERE ${DISPATCHABLE} ORDER BY next_run_at, id LIMIT $1`, [limit])
      : await this.#db.query<{ id: string; due: number }>(
        `SELECT id, next_run_at::float8 AS due FROM spindle_tasks WHERE ${DISPATCHABLE} AND (next_run_at, id) > ($1, $2)
         ORDER BY next_run_at, id LIMIT $3`, [after.due, after.id, limit]);
    return rows;
  }

  async runs(rec: TaskRecord): Promise<RunRecord[]> {
    const rows = await this.#db.query<{ record: RunRecord }>('SELECT record FROM spindle_runs WHERE task_id = $1', [rec.id]);
    const byRun = new Map(rows.map((r) => [r.record.run, r.record]));
    if (rec.lastRun !== null) byRun.set(rec.lastRun.run, rec.lastRun);
    return [...byRun.values()];
  }

  async history(rec: TaskRecord): Promise<HistoryEntry[]> {
    if (rec.historyChunks === 0) return rec.history;
    const rows = await this.#db.query<{ entries: HistoryEntry[] }>(
      'SELECT entries FROM spindle_history WHERE task_id = $1 AND chunk < $2 ORDER BY chunk', [rec.id, rec.historyChunks]);
    return [...rows.flatMap((r) => r.entries), ...rec.history];
  }

  counts(): ReadonlyMap<string, StateCounts> {
    return this.#counts.all();
  }

  open(type: string): number {
    return this.#counts.open(type);
  }

  paused(type: string): number {
    return this.#counts.paused(type);
  }

  async oldestQueued(type: string): Promise<TaskRecord | undefined> {
    const rows = await this.#db.query<{ record: string }>(
      "SELECT record FROM spindle_tasks WHERE type = $1 AND state = 'queued' ORDER BY id LIMIT 1", [type]);
    return rows[0] === undefined ? undefined : taskOfColumn(rows[0].record);
  }

  async series(type: string, fromMinute: number, toMinute: number): Promise<Array<{ minute: number; counts: MinuteCounts }>> {
    const rows = await this.#db.query<{ minute: number; counts: string }>(
      'SELECT minute::float8 AS minute, counts::text AS counts FROM spindle_series WHERE type = $1 AND minute BETWEEN $2 AND $3 ORDER BY minute',
      [type, fromMinute, toMinute]);
    // A minute's slots (migration 4), one after the other: added up.
    const out: Array<{ minute: number; counts: MinuteCounts }> = [];
    for (const r of rows) {
      const last = out[out.length - 1];
      if (last !== undefined && last.minute === r.minute) addMinute(last.counts, readable(r.counts));
      else out.push({ minute: r.minute, counts: readable(r.counts) });
    }
    return out;
  }

  /**
   * One index range, newest first, as the LevelDB store reads it (search-keys.ts): the error-word
   * index of the query's longest word when it has words, else the type's index, else the ids.
   */
  async search(query: SearchQuery, scanLimit: number): Promise<{ ids: string[]; exhausted: boolean }> {
    const bounds = idBounds(query);
    if (bounds === null) return { ids: [], exhausted: true };
    const values: unknown[] = [];
    const where: string[] = [];
    const word = drivingWord(query.words ?? []);
    const [table, column] = word !== undefined ? ['spindle_error_words', 'task_id'] : ['spindle_tasks', 'id'];
    if (word !== undefined) where.push(`word = $${values.push(word)}`);
    else if (query.type !== undefined) where.push(`type = $${values.push(query.type)}`);
    if (bounds.gte !== '') where.push(`${column} >= $${values.push(bounds.gte)}`);
    const upper = upperBound(bounds.lt);
    if (upper !== null) where.push(`${column} ${upper.op} $${values.push(upper.id)}`);
    const rows = await this.#db.query<{ id: string }>(`SELECT ${column} AS id FROM ${table} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ${column} DESC LIMIT $${values.push(scanLimit)}`, values);
    return { ids: rows.map((r) => r.id), exhausted: rows.length < scanLimit };
  }

  knows(type: string): boolean {
    return this.#counts.knows(type);
  }

  /** No dispatch cache: claims read the database's due index. */
  window(): { size: number; complete: boolean } {
    return { size: 0, complete: true };
  }
}

/**
 * The range's upper end without the '\xff' search-keys.ts ends an open range or a prefix's with,
 * so that no collation has to place that character: null when open.
 */
function upperBound(lt: string): { op: '<' | '<='; id: string } | null {
  if (lt.startsWith('\xff')) return null;
  if (lt.endsWith('\xff')) return { op: '<=', id: lt.slice(0, -1).padEnd(ID_LENGTH, 'z') };
  return { op: '<', id: lt };
}
