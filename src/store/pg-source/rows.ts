import type { PoolClient } from 'pg';
import type { HistoryEntry, RunRecord, TaskRecord } from '../../task/record.js';
import { heldKeyOf } from '../keys.js';
import { decodeTask, RecordWriter } from '../record-codec.js';

/** Who holds a running task: the runtime that claimed it and until when (database ms). Null on other states. */
export interface Holder {
  owner: string | null;
  leaseUntil: number | null;
}

/** A task as read for a change: its record, its claim, and its row's version (the write makes the next). */
export interface LoadedTask extends Holder {
  rec: TaskRecord;
  version: number;
}

/** A change to write: the task's record, its claim, and the version of the row it replaces. */
export interface TaskChange {
  rec: TaskRecord;
  holder: Holder;
  version: number;
}

/**
 * The columns selected to load a task for a change (rows map with `loaded`); `version` counts the
 * task's writes (migration 5), so the version a write makes is the one read plus one.
 */
export const LOADED_COLUMNS = 'id, record, owner, lease_until::float8 AS lease_until, version::float8 AS version';

/** A row selected with LOADED_COLUMNS. */
export interface LoadedRow {
  id: string;
  record: string;
  owner: string | null;
  lease_until: number | null;
  version: number;
}

/** `rec`: the task's record when the caller holds it as the row does (see KeptRecords), else parsed from the row. */
export function loaded(row: LoadedRow, rec?: TaskRecord): LoadedTask {
  return { rec: rec ?? taskOfColumn(row.record), owner: row.owner, leaseUntil: row.lease_until, version: row.version };
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

type Kind = 'text' | 'bool' | 'int4' | 'int8' | 'float8';
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
 * A batch is one statement per table whatever its size: each column travels as one array (in
 * binary: see ParamBytes), the records as one text, a line each, all unnested side by side.
 * Arrays, not a json recordset: the
 * server lexed every row's keys and looked each up (the largest share of its time after the index
 * entries). Records stay apart as text lines: JSON has no raw line break outside a string and
 * escapes one inside, so the server splits them at memchr's speed, where a json array was lexed
 * byte by byte and a text[] has every quote in every record escaped by the driver and unescaped by
 * the server. `versions`: each row's version too, after the records (the update's fence).
 */
function rowsOf(alias: string, versions = false): string {
  const version = versions ? `, $${COLUMNS.length + 2}::float8[]` : '';
  return `unnest(${COLUMNS.map(([, kind], i) => `$${i + 1}::${kind}[]`).join(', ')}, string_to_array($${COLUMNS.length + 1}::text, E'\\n')${version})
  AS ${alias} (${COLUMNS.map(([name]) => name).join(', ')}, record${versions ? ', version' : ''})`;
}

/* Named: planned once per connection (see claims.ts). */
const INSERT_SQL = `INSERT INTO spindle_tasks (${COLUMNS.map(([name]) => name).join(', ')}, record) SELECT * FROM ${rowsOf('r')}`;

/**
 * The update of a batch, as a function of the session (see CLAIM_FUNCTION_SQL in claims.ts): each
 * row is written only if it is still the version its change was made from, and the function says
 * how many were. A run's end is applied to the record its claim wrote without reading the row
 * again (see completions.ts): this is its fence, in the statement that writes it. The rows are
 * taken in id order, one probe each (no hash or merge join, which would take them in the table's
 * order), since those not already locked by this transaction are locked here, and the lease
 * renewal locks a runtime's running rows in id order too: two lockers in one order cannot
 * deadlock.
 */
export const UPDATE_FUNCTION_SQL = `CREATE FUNCTION pg_temp.spindle_update_tasks(${COLUMNS.map(([, kind]) => `${kind}[]`).join(', ')}, text, float8[])
  RETURNS bigint LANGUAGE plpgsql VOLATILE
  SET enable_hashjoin = off SET enable_mergejoin = off SET jit = off SET plan_cache_mode = force_generic_plan
  AS $update$ DECLARE n bigint; BEGIN
  UPDATE spindle_tasks t SET ${COLUMNS.slice(1).map(([name]) => `${name} = r.${name}`).join(', ')}, record = r.record, version = t.version + 1
    FROM (SELECT * FROM ${rowsOf('u', true)} ORDER BY id COLLATE "C") AS r
    WHERE t.id = r.id AND t.version = r.version;
  GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $update$`;
const UPDATE_CALL = `SELECT pg_temp.spindle_update_tasks(${COLUMNS.map(([, kind], i) => `$${i + 1}::${kind}[]`).join(', ')}, $${COLUMNS.length + 1}::text, $${COLUMNS.length + 2}::float8[]) AS n`;

const writer = new RecordWriter();
const NEWLINE = 0x0a;

/** Element type OIDs (pg_type): a binary array names its elements' type, which must be the one the statement casts to. */
const OID: Readonly<Record<Kind, number>> = { text: 25, bool: 16, int4: 23, int8: 20, float8: 701 };
const TWO_32 = 2 ** 32;
/** Texts up to this many characters are tried as ASCII in JS (see #text). */
const SHORT_TEXT = 64;

/**
 * The parameters of a batch as bytes in one buffer: each column a binary array (PostgreSQL's
 * array_recv format: the server copies the elements where a text literal is lexed, and nothing
 * here is quoted or escaped, nor made a string first), then the records one a line. The driver
 * sends a Buffer as it is, in binary format (text's binary form is its bytes). A column is written
 * by one loop of its kind (no call or switch per element beyond its value's).
 */
class ParamBytes {
  #buf: Buffer;
  #at = 0;

  /** `rows`: a batch of this many, which usually fits the first buffer. */
  constructor(rows: number) {
    this.#buf = Buffer.allocUnsafe(1024 + rows * 1024);
  }

  /** Room for `n` more bytes. */
  room(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#at + n));
    this.#buf.copy(grown, 0, 0, this.#at);
    this.#buf = grown;
  }

  get at(): number {
    return this.#at;
  }

  /** A column: one dimension of `rows.length`, lower bound 1, each element its length then its bytes (-1: NULL). */
  array<R>(kind: Kind, rows: readonly R[], value: (row: R) => Value): void {
    const n = rows.length;
    // The header, and every element but text's whole (at most 4 + 8 bytes each).
    this.room(20 + n * 12);
    this.#int32(1);
    this.#int32(0);
    this.#int32(OID[kind]);
    this.#int32(n);
    this.#int32(1);
    switch (kind) {
      case 'text':
        for (let i = 0; i < n; i++) this.#text(value(rows[i]!) as string | null);
        return;
      case 'bool':
        for (let i = 0; i < n; i++) {
          const v = value(rows[i]!);
          if (v === null) this.#int32(-1);
          else {
            this.#int32(1);
            this.#buf[this.#at++] = v === true ? 1 : 0;
          }
        }
        return;
      case 'int4':
        for (let i = 0; i < n; i++) {
          const v = value(rows[i]!) as number | null;
          if (v === null) this.#int32(-1);
          else {
            this.#int32(4);
            this.#int32(v);
          }
        }
        return;
      case 'int8':
        for (let i = 0; i < n; i++) {
          const v = value(rows[i]!) as number | null;
          if (v === null) this.#int32(-1);
          else {
            // Two halves: a Number holds ms since the epoch exactly, and a BigInt would be an object per value.
            const high = Math.floor(v / TWO_32);
            this.#int32(8);
            this.#int32(high);
            this.#int32(v - high * TWO_32);
          }
        }
        return;
      case 'float8':
        for (let i = 0; i < n; i++) {
          const v = value(rows[i]!) as number | null;
          if (v === null) this.#int32(-1);
          else {
            this.#int32(8);
            this.#at = this.#buf.writeDoubleBE(v, this.#at);
          }
        }
    }
  }

  /** A record's bytes, then a line break unless it is the last. */
  line(bytes: Uint8Array, last: boolean): void {
    this.room(bytes.length + 1);
    this.#buf.set(bytes, this.#at);
    this.#at += bytes.length;
    if (!last) this.#buf[this.#at++] = NEWLINE;
  }

  /** The bytes from `start` to here; valid until the next write (the buffer is this batch's alone). */
  since(start: number): Buffer {
    return this.#buf.subarray(start, this.#at);
  }

  /** Four bytes, big-endian, of a value in int32 or uint32 range (room already made). */
  #int32(v: number): void {
    const b = this.#buf;
    let at = this.#at;
    b[at++] = v >>> 24;
    b[at++] = v >>> 16;
    b[at++] = v >>> 8;
    b[at++] = v;
    this.#at = at;
  }

  /** A text element, with room made for it here (the column's made room for fixed-size elements only). */
  #text(text: string | null): void {
    this.room(4 + (text === null ? 0 : text.length * 3));
    if (text === null) return this.#int32(-1);
    const b = this.#buf;
    const start = this.#at + 4;
    // Short ASCII (ids, types, states, owners) copied in JS: a native write costs more per call than these bytes.
    if (text.length <= SHORT_TEXT) {
      let i = 0;
      for (; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80) break;
        b[start + i] = c;
      }
      if (i === text.length) {
        this.#int32(i);
        this.#at += i;
        return;
      }
    }
    const n = b.write(text, start, 'utf8');
    this.#int32(n);
    this.#at += n;
  }
}

/** `values` as one binary array parameter of `kind` (text[], float8[]): the driver would quote and escape each element of a JS array into a literal. */
export function binaryArray(kind: 'text' | 'float8', values: ReadonlyArray<string | number>): Buffer {
  const out = new ParamBytes(values.length / 16);
  out.array(kind, values, (v) => v);
  return out.since(0);
}

/** The rows' columns as binary arrays, and their records encoded one a line (see ParamBytes). */
function rowParams(rows: ReadonlyArray<{ rec: TaskRecord; holder: Holder }>): Buffer[] {
  const out = new ParamBytes(rows.length);
  const starts: number[] = [];
  for (const [, kind, value] of COLUMNS) {
    starts.push(out.at);
    out.array(kind, rows, (r) => value(r.rec, r.holder));
  }
  starts.push(out.at);
  // The writer's view of a record lasts until its next one: copied at once.
  for (let i = 0; i < rows.length; i++) out.line(writer.task(rows[i]!.rec), i === rows.length - 1);
  starts.push(out.at);
  const all = out.since(0);
  return starts.slice(0, -1).map((start, i) => all.subarray(start, starts[i + 1]));
}

export async function insertTasks(client: PoolClient, rows: ReadonlyArray<{ rec: TaskRecord; holder: Holder }>): Promise<void> {
  if (rows.length === 0) return;
  await client.query({ name: 'spindle_insert_tasks', text: INSERT_SQL, values: rowParams(rows) });
}

/** The code of a write that found rows changed since read: PostgreSQL's serialization failure, retried as one. */
export const STALE_ROWS = '40001';

/**
 * Writes the changes. One whose row is no longer the version it was made from (changed by another
 * transaction since: a cancel, a lease swept) fails the transaction as a serialization failure
 * does, so it runs again and reads what it changes.
 */
export async function updateTasks(client: PoolClient, rows: readonly TaskChange[]): Promise<void> {
  if (rows.length === 0) return;
  const values = [...rowParams(rows), binaryArray('float8', rows.map((r) => r.version))];
  const { rows: [written] } = await client.query<{ n: string }>({ name: 'spindle_update_tasks', text: UPDATE_CALL, values });
  fenced(Number(written!.n), rows.length);
}

/** Fails the transaction as a serialization failure when fewer rows than `expected` were still the versions read. */
function fenced(matched: number, expected: number): void {
  if (matched < expected) throw Object.assign(new Error(`${expected - matched} of ${expected} tasks changed since they were read`), { code: STALE_ROWS });
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

/**
 * Deletes tasks as their end is decided (goneAtEnd), fenced by the versions they were read at as
 * updateTasks is: a task changed since fails the transaction, which runs again. Their earlier
 * runs and spilled history go in the same statement, looked up only for the tasks that have any;
 * a task that is running or ending has no error words.
 */
export async function deleteEnded(client: PoolClient, rows: ReadonlyArray<{ rec: TaskRecord; version: number }>): Promise<void> {
  if (rows.length === 0) return;
  const withRows = rows.filter((r) => r.rec.runCount > 1 || r.rec.historyChunks > 0).map((r) => r.rec.id);
  const values = [binaryArray('text', rows.map((r) => r.rec.id)), binaryArray('float8', rows.map((r) => r.version)), binaryArray('text', withRows)];
  const { rows: [deleted] } = await client.query<{ n: string }>({ name: 'spindle_delete_ended', text: DELETE_ENDED_SQL, values });
  fenced(Number(deleted!.n), rows.length);
}

const DELETE_ENDED_SQL = `WITH runs AS (DELETE FROM spindle_runs WHERE task_id = ANY($3::text[])),
  history AS (DELETE FROM spindle_history WHERE task_id = ANY($3::text[])),
  tasks AS (DELETE FROM spindle_tasks t USING unnest($1::text[], $2::float8[]) AS d (id, version) WHERE t.id = d.id AND t.version = d.version RETURNING 1)
  SELECT count(*) AS n FROM tasks`;

/**
 * Deletes tasks with their runs, history and error words, in one statement (no foreign keys
 * cascade: see migration 10). The caller holds the tasks' rows, so none of theirs is being added.
 */
export async function deleteTasks(client: PoolClient, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await client.query({ name: 'spindle_delete_tasks', text: DELETE_TASKS_SQL, values: [binaryArray('text', ids)] });
}

const DELETE_TASKS_SQL = `WITH runs AS (DELETE FROM spindle_runs WHERE task_id = ANY($1::text[])),
  history AS (DELETE FROM spindle_history WHERE task_id = ANY($1::text[])),
  words AS (DELETE FROM spindle_error_words WHERE task_id = ANY($1::text[]))
  DELETE FROM spindle_tasks WHERE id = ANY($1::text[])`;
