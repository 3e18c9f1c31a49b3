import type { PoolClient } from 'pg';
import type { HistoryEntry, RunRecord, TaskRecord } from '../../task/record.js';
import { heldKeyOf } from '../keys.js';

/** Who holds a running task: the runtime that claimed it and until when (database ms). Null on other states. */
export interface Holder {
  owner: string | null;
  leaseUntil: number | null;
}

/** A task as read for a change: its record and its claim. */
export interface LoadedTask extends Holder {
  rec: TaskRecord;
}

/** The columns selected to load a task for a change (rows map with `loaded`). */
export const LOADED_COLUMNS = 'record, owner, lease_until::float8 AS lease_until';

export function loaded(row: { record: TaskRecord; owner: string | null; lease_until: number | null }): LoadedTask {
  return { rec: row.record, owner: row.owner, leaseUntil: row.lease_until };
}

export interface HistoryChunk {
  taskId: string;
  chunk: number;
  entries: HistoryEntry[];
}

/**
 * The key as stored: text columns cannot hold NUL, which a key may contain, so NUL and the escape
 * character are escaped (one to one: keys stay unique and comparable for equality).
 */
export function keyColumn(key: string): string {
  return key.includes('\\') || key.includes('\0') ? key.replace(/[\\\0]/g, (c) => (c === '\0' ? '\\0' : '\\\\')) : key;
}

/** The columns of spindle_tasks a record is stored as (the record itself travels apart): each derived from the record, but the claim. */
function taskRow(rec: TaskRecord, holder: Holder): Record<string, unknown> {
  const running = rec.state === 'running';
  return {
    id: rec.id,
    type: rec.type,
    state: rec.state,
    paused: rec.paused,
    priority: rec.priority,
    next_run_at: rec.nextRunAt,
    key: nullable(heldKeyOf(rec), keyColumn),
    key_expires_at: rec.keyExpiresAt,
    expires_at: rec.expiresAt,
    owner: running ? holder.owner : null,
    lease_until: running ? holder.leaseUntil : null,
    run: rec.lastRun?.run ?? 0,
    updated_at: rec.updatedAt,
  };
}

function nullable<T, R>(value: T | null, fn: (v: T) => R): R | null {
  return value === null ? null : fn(value);
}

const COLUMNS = ['type', 'state', 'paused', 'priority', 'next_run_at', 'key', 'key_expires_at', 'expires_at', 'owner', 'lease_until', 'run', 'updated_at', 'record'];
const SET = COLUMNS.map((c) => (c === 'record' ? 'record = j.rec' : `${c} = r.${c}`)).join(', ');

/*
 * A batch is one statement per table whatever its size: the columns travel as one json parameter
 * unpacked by json_populate_recordset, the records as a json array beside it, matched by position.
 * Records stay apart because json_populate_recordset refuses a NUL escape (\u0000) that a json
 * column stores as written (json_array_elements hands each element on as written), and params or
 * outputs may hold one. One json text, not a json[]: an array parameter has every quote in every
 * record escaped by the driver and unescaped by the server, a cost per byte on both sides.
 */
const ROWS = `json_populate_recordset(null::spindle_tasks, $1) WITH ORDINALITY AS r
  JOIN json_array_elements($2::json) WITH ORDINALITY AS j (rec, n) ON j.n = r.ordinality`;

/* Named: planned once per connection (see claims.ts). */
const INSERT_SQL = `INSERT INTO spindle_tasks (id, ${COLUMNS.join(', ')})
  SELECT r.id, ${COLUMNS.map((c) => (c === 'record' ? 'j.rec' : `r.${c}`)).join(', ')} FROM ${ROWS}`;
const UPDATE_SQL = `UPDATE spindle_tasks t SET ${SET} FROM ${ROWS} WHERE t.id = r.id`;

function rowParams(rows: ReadonlyArray<{ rec: TaskRecord; holder: Holder }>): [string, string] {
  return [JSON.stringify(rows.map((r) => taskRow(r.rec, r.holder))), `[${rows.map((r) => JSON.stringify(r.rec)).join(',')}]`];
}

export async function insertTasks(client: PoolClient, rows: ReadonlyArray<{ rec: TaskRecord; holder: Holder }>): Promise<void> {
  if (rows.length === 0) return;
  await client.query({ name: 'spindle_insert_tasks', text: INSERT_SQL, values: rowParams(rows) });
}

export async function updateTasks(client: PoolClient, rows: ReadonlyArray<{ rec: TaskRecord; holder: Holder }>): Promise<void> {
  if (rows.length === 0) return;
  await client.query({ name: 'spindle_update_tasks', text: UPDATE_SQL, values: rowParams(rows) });
}

export async function insertRuns(client: PoolClient, runs: readonly RunRecord[]): Promise<void> {
  if (runs.length === 0) return;
  await client.query(`INSERT INTO spindle_runs (task_id, run, record)
    SELECT * FROM unnest($1::text[], $2::int[], $3::json[]) ON CONFLICT (task_id, run) DO UPDATE SET record = excluded.record`, [
    runs.map((r) => r.taskId), runs.map((r) => r.run), runs.map((r) => JSON.stringify(r)),
  ]);
}

export async function insertHistory(client: PoolClient, chunks: readonly HistoryChunk[]): Promise<void> {
  if (chunks.length === 0) return;
  await client.query('INSERT INTO spindle_history SELECT * FROM unnest($1::text[], $2::int[], $3::json[])', [
    chunks.map((c) => c.taskId), chunks.map((c) => c.chunk), chunks.map((c) => JSON.stringify(c.entries)),
  ]);
}

export async function deleteTasks(client: PoolClient, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await client.query('DELETE FROM spindle_tasks WHERE id = ANY($1::text[])', [ids]);
}
