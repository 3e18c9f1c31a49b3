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

type Kind = 'text' | 'bool' | 'int4' | 'int8';
type Value = string | number | boolean | null;

/**
 * The columns of spindle_tasks a record is stored as, each derived from the record but the claim,
 * with its SQL type: a batch sends each column as one array of that type (see rowParams).
 */
const COLUMNS: ReadonlyArray<readonly [name: string, kind: Kind, value: (rec: TaskRecord, holder: Holder) => Value]> = [
  ['id', 'text', (rec) => rec.id],
  ['type', 'text', (rec) => rec.type],
  ['state', 'text', (rec) => rec.state],
  ['paused', 'bool', (rec) => rec.paused],
  ['priority', 'int4', (rec) => rec.priority],
  ['next_run_at', 'int8', (rec) => rec.nextRunAt],
  ['key', 'text', (rec) => nullable(heldKeyOf(rec), keyColumn)],
  ['key_expires_at', 'int8', (rec) => rec.keyExpiresAt],
  ['expires_at', 'int8', (rec) => rec.expiresAt],
  ['owner', 'text', (rec, holder) => (rec.state === 'running' ? holder.owner : null)],
  ['lease_until', 'int8', (rec, holder) => (rec.state === 'running' ? holder.leaseUntil : null)],
  ['run', 'int4', (rec) => rec.lastRun?.run ?? 0],
  ['updated_at', 'int8', (rec) => rec.updatedAt],
];

function nullable<T, R>(value: T | null, fn: (v: T) => R): R | null {
  return value === null ? null : fn(value);
}

/*
 * A batch is one statement per table whatever its size: each column travels as one array, the
 * records as one text, a line each, all unnested side by side. Arrays, not a json recordset: the
 * server lexed every row's keys and looked each up (the largest share of its time after the index
 * entries). Records stay apart as text lines: JSON has no raw line break outside a string and
 * escapes one inside, so the server splits them at memchr's speed, where a json array was lexed
 * byte by byte and a text[] has every quote in every record escaped by the driver and unescaped by
 * the server.
 */
const ROWS = `unnest(${COLUMNS.map(([, kind], i) => `$${i + 1}::${kind}[]`).join(', ')}, string_to_array($${COLUMNS.length + 1}::text, E'\\n'))
  AS r (${COLUMNS.map(([name]) => name).join(', ')}, record)`;

/* Named: planned once per connection (see claims.ts). */
const INSERT_SQL = `INSERT INTO spindle_tasks (${COLUMNS.map(([name]) => name).join(', ')}, record) SELECT * FROM ${ROWS}`;
const UPDATE_SQL = `UPDATE spindle_tasks t SET ${COLUMNS.slice(1).map(([name]) => `${name} = r.${name}`).join(', ')}, record = r.record,
  version = t.version + 1 FROM ${ROWS} WHERE t.id = r.id`;

/** An array element as PostgreSQL reads it in an array literal: text quoted, its quotes and backslashes escaped. */
function element(kind: Kind, v: Value): string {
  if (v === null) return 'NULL';
  if (kind !== 'text') return String(v);
  const text = v as string;
  return /["\\]/.test(text) ? `"${text.replace(/["\\]/g, '\\$&')}"` : `"${text}"`;
}

const writer = new RecordWriter();
const NEWLINE = 0x0a;

/**
 * The rows' columns as array literals (made here: the driver quotes and escapes each element of an
 * array it is given, numbers too), and their records encoded one a line, as bytes (sent as they
 * are: no string made of them).
 */
function rowParams(rows: ReadonlyArray<{ rec: TaskRecord; holder: Holder }>): Array<string | Buffer> {
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
  const columns = COLUMNS.map(([, kind, value]) => `{${rows.map((r) => element(kind, value(r.rec, r.holder))).join(',')}}`);
  return [...columns, Buffer.concat(parts, size - 1)];
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
