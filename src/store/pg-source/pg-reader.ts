import { addMinute, type MinuteCounts } from '../../api/series.js';
import type { HistoryEntry, RunRecord, TaskRecord } from '../../task/record.js';
import { TASK_STATES } from '../../api/states.js';
import { drivingWord, idBounds } from '../search-keys.js';
import { readable } from '../series-rows.js';
import type { DueEntry, ListQuery, SearchQuery, StateCounts } from '../store.js';
import type { TaskReader } from '../task-source.js';
import type { PgCounts } from './pg-counts.js';
import type { PgDatabase } from './pg-database.js';
import { duePage } from './due-order.js';
import { taskOfColumn } from './rows.js';

/** pausedOf (src/store/keys.ts) in SQL, as the paused-task index of migration 2 is defined. */
const PAUSED = "paused AND state IN ('spooled', 'queued', 'running')";
/** The states a task can be in: a list of any other is empty, unread. */
const STATE_SET: ReadonlySet<string> = new Set(TASK_STATES);

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
    const values: unknown[] = [];
    const below = query.cursor === undefined ? '' : `AND id < $${values.push(query.cursor)}`;
    const limit = `$${values.push(query.limit)}`;
    let sql: string;
    if (query.paused === true) {
      const type = query.type === undefined ? '' : `AND type = $${values.push(query.type)}`;
      sql = `SELECT id FROM spindle_tasks WHERE ${PAUSED} ${type} ${below} ORDER BY id DESC LIMIT ${limit}`;
    } else if (query.state !== undefined) {
      // No task is in a state this code does not know; a known one is spelled in the statement, so
      // the planner can match it to an index's predicate: spindle_tasks_spooled's,
      // spindle_tasks_lease's (running: as many as run at once, read whole and sorted), or
      // spindle_tasks_type_state's (every other state).
      if (!STATE_SET.has(query.state)) return [];
      const state = `'${query.state}'`;
      if (query.type !== undefined) {
        sql = `SELECT id FROM spindle_tasks WHERE type = $${values.push(query.type)} AND state = ${state} ${below} ORDER BY id DESC LIMIT ${limit}`;
      } else if (query.state === 'spooled' || query.state === 'running') {
        sql = `SELECT id FROM spindle_tasks WHERE state = ${state} ${below} ORDER BY id DESC LIMIT ${limit}`;
      } else {
        sql = byTypes(state, below, limit);
      }
    } else if (query.type !== undefined) {
      sql = byType(`$${values.push(query.type)}`, below, limit);
    } else {
      sql = `SELECT id FROM spindle_tasks WHERE true ${below} ORDER BY id DESC LIMIT ${limit}`;
    }
    const rows = await this.#db.query<{ id: string }>(sql, values);
    return rows.map((r) => r.id);
  }

  async dueAfter(after: DueEntry | null, limit: number): Promise<DueEntry[]> {
    return after === null
      ? await this.#db.query<{ id: string; due: number }>(duePage(''), [limit])
      : await this.#db.query<{ id: string; due: number }>(duePage('AND (t.next_run_at, t.id) > ($2, $3)'), [limit, after.due, after.id]);
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
   * index of the query's longest word when it has words, else the type's tasks (byType), else the ids.
   */
  async search(query: SearchQuery, scanLimit: number): Promise<{ ids: string[]; exhausted: boolean }> {
    const bounds = idBounds(query);
    if (bounds === null) return { ids: [], exhausted: true };
    const values: unknown[] = [];
    const word = drivingWord(query.words ?? []);
    const column = word !== undefined ? 'task_id' : 'id';
    const range: string[] = [];
    if (bounds.gte !== '') range.push(`AND ${column} >= $${values.push(bounds.gte)}`);
    const upper = upperBound(bounds.lt);
    if (upper !== null) range.push(`AND ${column} ${upper.op} $${values.push(upper.id)}`);
    const limit = `$${values.push(scanLimit)}`;
    let sql: string;
    if (word !== undefined) {
      sql = `SELECT task_id AS id FROM spindle_error_words WHERE word = $${values.push(word)} ${range.join(' ')} ORDER BY task_id DESC LIMIT ${limit}`;
    } else if (query.type !== undefined) {
      sql = byType(`$${values.push(query.type)}`, range.join(' '), limit);
    } else {
      sql = `SELECT id FROM spindle_tasks WHERE true ${range.join(' ')} ORDER BY id DESC LIMIT ${limit}`;
    }
    const rows = await this.#db.query<{ id: string }>(sql, values);
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

/**
 * One type's task ids newest first, from `filter` (SQL that follows a WHERE … AND, or nothing), at
 * most `limit` (a parameter): one range per state, each newest first and cut at the limit, merged
 * by id (a Merge Append), so a page reads about as many entries as it returns, however many tasks
 * the type has. The ranges are spindle_tasks_type_state's, but the running tasks': those are read
 * from spindle_tasks_lease and sorted (migration 8 left them out of the type-state index, an entry
 * less at every claim; there are as many as run at once). Migration 6 dropped the type's own
 * index: it was an entry more at every write of a task.
 */
function byType(type: string, filter: string, limit: string): string {
  const ranges = TASK_STATES.map((s) => `(SELECT id FROM spindle_tasks WHERE type = ${type} AND state = '${s}' ${filter} ORDER BY id DESC LIMIT ${limit})`);
  return `SELECT id FROM (${ranges.join(' UNION ALL ')}) AS u ORDER BY id DESC LIMIT ${limit}`;
}

/**
 * The ids of one state newest first, for a state but spooled and running (migration 6 left the
 * others without an index of their own: an entry less at every write of a task): one range of the
 * type-state index per type. The types are read from that index too, one probe each (a loose index
 * scan), so the list depends on nothing but the tasks. A page of `limit` ids comes from the `limit`
 * types whose newest id there is the newest (every other type's ids are older than those), so only
 * their ranges are read past their first entry. A page costs two probes per type: about 1 ms with
 * 20 types, 15-35 ms with 1,000.
 */
function byTypes(state: string, filter: string, limit: string): string {
  const range = (type: string, n: string): string =>
    `(SELECT id FROM spindle_tasks t WHERE t.type = ${type} AND t.state = ${state} ${filter} ORDER BY id DESC LIMIT ${n})`;
  // The index's predicate, said so that the probes can read it.
  const listed = "state <> 'running'";
  return `WITH RECURSIVE types (type) AS (
      (SELECT type FROM spindle_tasks WHERE ${listed} ORDER BY type LIMIT 1)
      UNION ALL SELECT (SELECT t.type FROM spindle_tasks t WHERE t.${listed} AND t.type > types.type ORDER BY t.type LIMIT 1) FROM types WHERE types.type IS NOT NULL)
    SELECT x.id FROM (SELECT types.type FROM types CROSS JOIN LATERAL ${range('types.type', '1')} AS newest ORDER BY newest.id DESC LIMIT ${limit}) AS top
    CROSS JOIN LATERAL ${range('top.type', limit)} AS x ORDER BY x.id DESC LIMIT ${limit}`;
}
