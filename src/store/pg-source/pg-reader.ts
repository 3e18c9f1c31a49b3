import type { HistoryEntry, RunRecord, TaskRecord } from '../../task/record.js';
import type { DueEntry, ListQuery, StateCounts } from '../store.js';
import type { TaskReader } from '../task-source.js';
import type { PgCounts } from './pg-counts.js';
import type { PgDatabase } from './pg-database.js';

const DISPATCHABLE = "state = 'queued' AND NOT paused AND next_run_at IS NOT NULL";

/** Reads of the PostgreSQL source: every write is committed before it is answered, so reads are the database's. */
export class PgReader implements TaskReader {
  readonly #db: PgDatabase;
  readonly #counts: PgCounts;

  constructor(db: PgDatabase, counts: PgCounts) {
    this.#db = db;
    this.#counts = counts;
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const rows = await this.#db.query<{ record: TaskRecord }>('SELECT record FROM spindle_tasks WHERE id = $1', [id]);
    return rows[0]?.record;
  }

  async getMany(ids: readonly string[]): Promise<Array<TaskRecord | undefined>> {
    if (ids.length === 0) return [];
    const rows = await this.#db.query<{ record: TaskRecord }>('SELECT record FROM spindle_tasks WHERE id = ANY($1::text[])', [ids]);
    const byId = new Map(rows.map((r) => [r.record.id, r.record]));
    return ids.map((id) => byId.get(id));
  }

  async listIds(query: ListQuery): Promise<string[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (query.state !== undefined) where.push(`state = $${values.push(query.state)}`);
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

  knows(type: string): boolean {
    return this.#counts.knows(type);
  }

  /** No dispatch cache: claims read the database's due index. */
  window(): { size: number; complete: boolean } {
    return { size: 0, complete: true };
  }
}
