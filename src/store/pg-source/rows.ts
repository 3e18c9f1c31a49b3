import type { PoolClient } from 'pg';
import type { HistoryEntry, RunRecord, TaskRecord } from '../../task/record.js';
import { heldKeyOf } from '../keys.js';
import { decodeTask, RecordWriter } from '../record-codec.js';

/** Who holds a running task: the runtime that claimed it and until when (database ms). Null on other states. */
export interface Holder {
  owner: string | null;
  leaseUntil: number | null;
}

/** A task as read for a change: its record and its claim. */
export interface LoadedTask extends Holder {
  rec: TaskRecord;
}

/**
 * The columns selected to load a task for a change (rows map with `loaded`); `version` counts the
 * task's writes (migration 5), so the version a write makes is the one read plus one.
 */
export const LOADED_COLUMNS = 'id, record, owner, lease_until::float8 AS lease_until, version::float8 AS version';

export function loaded(row: { record: string; owner: string | null; lease_until: number | null }): LoadedTask {
  return { rec: taskOfColumn(row.record), owner: row.owner, leaseUntil: row.lease_until };
}

/**
 * A task from its record column: record-codec's array (migration 5), or the keyed object an
 * earlier schema wrote, which stays until the task's next write.
 */
export function taskOfColumn(text: string): TaskRecord {
  return text.charCodeAt(0) === 0x5b /* [ */ ? decodeTask(text) : JSON.parse(text) as TaskRecord;
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
 * unpacked by json_populate_recordset, the records as one text beside it, a line each, matched by
 * position. Records stay apart because json_populate_recordset refuses a NUL escape (\u0000) that
 * params or outputs may hold. Lines, not a json array or a text[]: JSON has no raw line break
 * outside a string and escapes one inside, so the server splits them at memchr's speed where a
 * json array was lexed byte by byte, and a text[] parameter has every quote in every record
 * escaped by the driver and unescaped by the server.
 */
const ROWS = `json_populate_recordset(null::spindle_tasks, $1) WITH ORDINALITY AS r
  JOIN unnest(string_to_array($2::text, E'\\n')) WITH ORDINALITY AS j (rec, n) ON j.n = r.ordinality`;

/* Named: planned once per connection (see claims.ts). */
const INSERT_SQL = `INSERT INTO spindle_tasks (id, ${COLUMNS.join(', ')})
  SELECT r.id, ${COLUMNS.map((c) => (c === 'record' ? 'j.rec' : `r.${c}`)).join(', ')} FROM ${ROWS}`;
const UPDATE_SQL = `UPDATE spindle_tasks t SET ${SET}, version = t.version + 1 FROM ${ROWS} WHERE t.id = r.id`;

const writer = new RecordWriter();
const NEWLINE = 0x0a;

/** The rows' columns as json, and their records encoded one a line, as bytes (sent as they are: no string made of them). */
function rowParams(rows: ReadonlyArray<{ rec: TaskRecord; holder: Holder }>): [string, Buffer] {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const r of rows) {
    // A view of the writer's buffer until its next record: copied here.
    const bytes = writer.task(r.rec);
    const line = Buffer.allocUnsafe(bytes.length + 1);
    line.set(bytes);
    line[bytes.length] = NEWLINE;
    parts.push(line);
    size += line.length;
  }
  return [JSON.stringify(rows.map((r) => taskRow(r.rec, r.holder))), Buffer.concat(parts, size - 1)];
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
