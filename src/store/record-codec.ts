import { RECORD_VERSION } from '../task/record.js';
import type { HistoryEntry, RunRecord, TaskRecord } from '../task/record.js';
import { JsonBytes } from './json-bytes.js';

/**
 * Stored values as JSON arrays in a fixed field order: about half the bytes of keyed objects, so
 * less to encode on the supervisor's thread and less for the store to write. The first element of
 * a task is its layout; the tables below are the layouts, written once for the writer and the
 * reader both (changing an order means a new layout).
 *
 * Tasks are written in layout 2 and read in 1 or 2. Layout 2 writes each time of a task as its
 * difference from the task's createdAt, a history entry without the state it left (the one the
 * entry before it entered), and the last run without the task's id: a one-shot task's record
 * went from about 510 bytes to about 330, written three times a run (placed, started, ended).
 * Runs kept apart (a task's earlier runs) and spilled history chunks stay in layout 1.
 */

type Row = unknown[];

/** The layout tasks are written in. */
const LAYOUT = 2;

/**
 * How a field is written: the JsonBytes method of that name, but for the nested records (`run`: a
 * run record or null, `history`: a list of entries), `time` (a time or null, as its difference
 * from the task's createdAt), `layout` (the layout's number, read back as RECORD_VERSION) and the
 * two not stored at all: `version` (read as RECORD_VERSION) and `owner` (read as the id of the task
 * that holds the record). The reader takes JSON.parse's value as is for the JsonBytes kinds.
 */
interface KindValue {
  num: number | null;
  str: string;
  strOrNull: string | null;
  bool: boolean;
  json: unknown;
  jsonOrNull: object | null;
  run: RunRecord | null;
  history: readonly HistoryEntry[];
  time: number | null;
  layout: number;
  version: number;
  owner: string;
}
type Kind = keyof KindValue;
/** The kinds that can write a value of type T (tuples: no distribution over T's union). */
type KindFor<T> = { [K in Kind]: [T] extends [KindValue[K]] ? K : never }[Kind];
/**
 * A field: its name, its kind, and `appended` for one added after layout 1 was first released,
 * which records written before it lack, so it reads back as null.
 */
type Field<R> = { [N in keyof R & string]: readonly [name: N, kind: KindFor<R[N]>, appended?: 'appended'] }[keyof R & string];
/** The table itself when it names every field of R (the tuple type checks each kind), else never. */
type Layout<R, F extends readonly Field<R>[]> = [Exclude<keyof R, F[number][0]>] extends [never] ? F : never;
const layout = <R>() => <const F extends readonly Field<R>[]>(fields: Layout<R, F>): readonly Field<R>[] => fields;

/** Layout 1: each record's fields in stored order. */
const RUN = layout<RunRecord>()([
  ['v', 'num'], ['taskId', 'str'], ['run', 'num'], ['attempt', 'num'], ['state', 'str'], ['startedAt', 'num'], ['endedAt', 'num'],
  ['durationMs', 'num'], ['worker', 'strOrNull'], ['output', 'strOrNull'], ['error', 'jsonOrNull'], ['progress', 'num'],
]);
const HISTORY = layout<HistoryEntry>()([['from', 'str'], ['to', 'str'], ['event', 'str'], ['at', 'num'], ['reason', 'strOrNull']]);
const TASK = layout<TaskRecord>()([
  ['v', 'num'], ['id', 'str'], ['type', 'str'], ['params', 'json'], ['schedule', 'json'], ['recurring', 'bool'], ['priority', 'num'],
  ['maxTries', 'num'], ['timeoutMs', 'num'], ['misfire', 'str'], ['graceMs', 'num'], ['key', 'strOrNull'], ['createdAt', 'num'],
  ['state', 'str'], ['reason', 'strOrNull'], ['tries', 'num'], ['runCount', 'num'], ['occurrences', 'num'], ['firedAt', 'num'],
  ['interval', 'num'], ['nextRunAt', 'num'], ['paused', 'bool'], ['updatedAt', 'num'], ['endedAt', 'num'], ['expiresAt', 'num'],
  ['lastRun', 'run'], ['history', 'history'], ['historyChunks', 'num'],
  ['keyExpiresAt', 'num', 'appended'], ['keyRetentionMs', 'num', 'appended'],
]);

/** Layout 2: a task's last run, inside its task. */
const RUN_2 = layout<RunRecord>()([
  ['v', 'version'], ['taskId', 'owner'], ['run', 'num'], ['attempt', 'num'], ['state', 'str'], ['startedAt', 'time'], ['endedAt', 'time'],
  ['durationMs', 'num'], ['worker', 'strOrNull'], ['output', 'strOrNull'], ['error', 'jsonOrNull'], ['progress', 'num'],
]);
/** A task's fields fixed at submit come first, so their encoding is made once and reused. */
const TASK_2_FIXED = [
  ['v', 'layout'], ['id', 'str'], ['type', 'str'], ['params', 'json'], ['schedule', 'json'], ['recurring', 'bool'], ['priority', 'num'],
  ['maxTries', 'num'], ['timeoutMs', 'num'], ['misfire', 'str'], ['graceMs', 'num'], ['key', 'strOrNull'], ['createdAt', 'num'],
] as const satisfies ReadonlyArray<Field<TaskRecord>>;
const TASK_2_CHANGING = [
  ['state', 'str'], ['reason', 'strOrNull'], ['tries', 'num'], ['runCount', 'num'], ['occurrences', 'num'], ['firedAt', 'time'],
  ['interval', 'num'], ['nextRunAt', 'time'], ['paused', 'bool'], ['updatedAt', 'time'], ['endedAt', 'time'], ['expiresAt', 'time'],
  ['lastRun', 'run'], ['history', 'history'], ['historyChunks', 'num'], ['keyExpiresAt', 'time'], ['keyRetentionMs', 'num'],
] as const satisfies ReadonlyArray<Field<TaskRecord>>;
const TASK_2 = layout<TaskRecord>()([...TASK_2_FIXED, ...TASK_2_CHANGING]);
/** Where layout 2 keeps what its nested records are read against (no implied field comes before them). */
const TASK_2_ID = TASK_2.findIndex(([name]) => name === 'id');
const TASK_2_CREATED = TASK_2.findIndex(([name]) => name === 'createdAt');

/** Kinds with no element of their own in the stored array. */
const IMPLIED: ReadonlySet<Kind> = new Set(['version', 'owner']);

/**
 * The tables are compiled, once at load, to the straight-line code one would write by hand for
 * each record: a loop over a table instead (a keyed load and a switch per field; keyed stores to
 * decode) encoded ~30% and decoded ~2× slower, measured on 100,000 task records. Field names are the
 * records' property names (the table's type allows no other), checked again here as identifiers
 * before they go into code.
 */
type AnyField = readonly [name: string, kind: Kind, appended?: 'appended'];
interface Compiled {
  /** The code for one field, `i` its position in the stored array (implied fields have none). */
  field: (name: string, kind: Kind, i: number, appended: boolean) => string;
  /** The function around the fields' code, joined by `join`. */
  join: string;
  wrap: (fields: string) => string;
  /** What the code calls by name: the nested records' writers or readers. */
  nested: Record<string, unknown>;
}

function compile<F>(fields: readonly AnyField[], c: Compiled): F {
  for (const [name] of fields) if (!/^[A-Za-z]\w*$/.test(name)) throw new Error(`record-codec: ${name} is not a field name`);
  let i = 0;
  const code = fields.map(([name, kind, appended]) => c.field(name, kind, IMPLIED.has(kind) ? -1 : i++, appended !== undefined)).filter((f) => f !== '').join(c.join);
  return new Function(...Object.keys(c.nested), `return ${c.wrap(code)};`)(...Object.values(c.nested)) as F;
}

/** `base`: the createdAt of the task the record is in, for `time` fields. */
type Writer<R> = (b: JsonBytes, rec: R, base: number) => void;
/** `base` and `owner`: the createdAt and id of the task the record is in. */
type Reader<R> = (r: Row, base: number, owner: string) => R;

/** `b.num(rec.tries); b.str(rec.state); …`: a record's fields, each with its comma, no brackets. */
function fieldWriter<R>(fields: readonly Field<R>[], nested: { run?: Writer<RunRecord> } = {}): Writer<R> {
  return compile<Writer<R>>(fields, {
    field: (name, kind) => {
      if (kind === 'run') return `if (rec.${name} === null) b.null(); else run(b, rec.${name}, base);`;
      if (kind === 'time') return `time(b, rec.${name}, base);`;
      if (kind === 'layout') return `b.num(${LAYOUT});`;
      if (IMPLIED.has(kind)) return '';
      if (kind === 'history') throw new Error('record-codec: a history is written by RecordWriter');
      return `b.${kind}(rec.${name});`;
    },
    join: '\n',
    wrap: (code) => `function write(b, rec, base) {\n${code}\n}`,
    nested: { ...nested, time: writeTime },
  });
}

/** `{ v: r[0], id: r[1], … }`: a record from the row JSON.parse made of its bytes. */
function reader<R>(fields: readonly Field<R>[], nested: { run?: Reader<RunRecord>; history?: (list: Row[], base: number) => HistoryEntry[] } = {}): Reader<R> {
  return compile<Reader<R>>(fields, {
    field: (name, kind, i, appended) => {
      if (kind === 'run') return `${name}: r[${i}] === null ? null : run(r[${i}], base, owner)`;
      if (kind === 'history') return `${name}: history(r[${i}], base)`;
      if (kind === 'time') return `${name}: time(r[${i}], base)`;
      if (kind === 'layout' || kind === 'version') return `${name}: ${RECORD_VERSION}`;
      if (kind === 'owner') return `${name}: owner`;
      // Records written before an appended field lack it.
      return `${name}: ${appended ? `r[${i}] ?? null` : `r[${i}]`}`;
    },
    join: ', ',
    wrap: (code) => `function read(r, base, owner) { return { ${code} }; }`,
    nested: { ...nested, time: readTime },
  });
}

/**
 * A time as its difference from `base`, exact for any two whole numbers of ms (integers below
 * 2^53 subtract and add back exactly); one with a fraction is written whole, as a string, and one
 * JSON cannot hold as null, as JSON.stringify writes it.
 */
function writeTime(b: JsonBytes, t: number | null, base: number): void {
  if (t === null || !Number.isFinite(t)) b.null();
  else if (Number.isSafeInteger(t) && Number.isSafeInteger(base) && Number.isSafeInteger(t - base)) b.num(t - base);
  else b.str(String(t));
}

function readTime(x: unknown, base: number): number | null {
  if (x === null) return null;
  return typeof x === 'string' ? Number(x) : base + (x as number);
}

const runFields = fieldWriter(RUN);
const historyFields = fieldWriter(HISTORY);
const nestedRunFields = fieldWriter(RUN_2);

function writeRun(b: JsonBytes, r: RunRecord): void {
  b.open();
  runFields(b, r, 0);
  b.close();
}

function writeNestedRun(b: JsonBytes, r: RunRecord, base: number): void {
  b.open();
  nestedRunFields(b, r, base);
  b.close();
}

function writeHistory(b: JsonBytes, entries: readonly HistoryEntry[]): void {
  b.open();
  for (const e of entries) {
    b.open();
    historyFields(b, e, 0);
    b.close();
  }
  b.close();
}

/**
 * Layout 2's entries from `from` on, each an array with its comma, no brackets around them:
 * `[to, event, at]`, then the reason when there is one, then the state left when it is not the
 * one the entry before entered ("none" before the first).
 */
function writeEntries(b: JsonBytes, entries: readonly HistoryEntry[], from: number, base: number): void {
  let before = from === 0 ? 'none' : entries[from - 1]!.to;
  for (let i = from; i < entries.length; i++) {
    const e = entries[i]!;
    b.open();
    b.str(e.to);
    b.str(e.event);
    writeTime(b, e.at, base);
    if (e.from !== before) {
      b.strOrNull(e.reason);
      b.str(e.from);
    } else if (e.reason !== null) b.str(e.reason);
    b.close();
    before = e.to;
  }
}

function readEntries(list: Row[], base: number): HistoryEntry[] {
  let before = 'none';
  return list.map((e) => {
    const entry = { from: (e[4] ?? before) as HistoryEntry['from'], to: e[0] as HistoryEntry['to'], event: e[1] as string, at: readTime(e[2], base)!, reason: (e[3] ?? null) as HistoryEntry['reason'] };
    before = entry.to;
    return entry;
  });
}

/**
 * The bytes of a task's history entries as last written: a task is written at each transition
 * and each adds one entry, so all but the newest were encoded before. Entries are never changed
 * once made, only appended (or spilled from the front), so the same first and last entry objects
 * at the same count mean the same entries.
 */
interface HistoryBytes {
  first: HistoryEntry;
  last: HistoryEntry;
  count: number;
  /** Their bytes, each entry with its comma (JsonBytes.textFrom). */
  text: string;
}

/**
 * Histories shorter than this are encoded whole at each write, not kept: a one-shot task's
 * (2 to 4 entries) costs less to encode again than to keep as text and copy back (measured).
 */
const HISTORY_CACHED_FROM = 5;

/** A task's fields, each with the writer of its kind; the history is written by RecordWriter itself. */
const TASK_HISTORY = TASK_2_CHANGING.findIndex(([name]) => name === 'history');
const taskFixedFields = fieldWriter<TaskRecord>(TASK_2_FIXED);
const taskChangingFields = fieldWriter<TaskRecord>(TASK_2_CHANGING.slice(0, TASK_HISTORY), { run: writeNestedRun });
const taskLastFields = fieldWriter<TaskRecord>(TASK_2_CHANGING.slice(TASK_HISTORY + 1));

const historyOf = reader(HISTORY);
const runOf = reader(RUN);
const taskOf = reader(TASK, { run: runOf, history: (list) => list.map((e) => historyOf(e as Row, 0, '')) });
const task2Of = reader(TASK_2, { run: reader(RUN_2), history: readEntries });

/**
 * Writes records into one reused buffer (see JsonBytes). Each value returned is a view of the
 * buffer, valid until the next call: LevelDB copies a value when it is added to a batch.
 */
export class RecordWriter {
  readonly #b = new JsonBytes();
  /**
   * The bytes of the fields fixed at submit, made once per task: neither large params nor the
   * rest is encoded again at every write. Keyed by the schedule object, which every task holds for
   * as long as it is in memory (copies of a record share it); the id guards against two tasks
   * given one schedule object by an in-process caller.
   */
  readonly #fixed = new WeakMap<object, { id: string; key: string | null; text: string; history: HistoryBytes | null }>();

  task(t: TaskRecord): Uint8Array {
    const b = this.#b;
    b.reset();
    const cached = this.#fixedFields(t);
    taskChangingFields(b, t, t.createdAt);
    this.#history(t, cached);
    taskLastFields(b, t, t.createdAt);
    b.close();
    return b.value();
  }

  run(r: RunRecord): Uint8Array {
    this.#b.reset();
    writeRun(this.#b, r);
    return this.#b.value();
  }

  history(entries: readonly HistoryEntry[]): Uint8Array {
    this.#b.reset();
    writeHistory(this.#b, entries);
    return this.#b.value();
  }

  /**
   * The task's opening bracket and fixed fields, from the cache when this task's are there.
   * Answers the task's cache entry (null when its schedule is no object to key it by).
   */
  #fixedFields(t: TaskRecord): { history: HistoryBytes | null } | null {
    const b = this.#b;
    const owner = typeof t.schedule === 'object' && t.schedule !== null ? t.schedule : null;
    const cached = owner === null ? undefined : this.#fixed.get(owner);
    // The key is the one fixed field a decision clears in place (a retried task whose hold ran out).
    if (cached !== undefined && cached.id === t.id && cached.key === t.key) {
      b.appendText(cached.text);
      return cached;
    }
    const from = b.length;
    b.open();
    taskFixedFields(b, t, t.createdAt);
    if (owner === null) return null;
    const entry = { id: t.id, key: t.key, text: b.textFrom(from), history: null };
    this.#fixed.set(owner, entry);
    return entry;
  }

  /** The history field: the entries written before from the cache, only the new ones encoded. */
  #history(t: TaskRecord, cached: { history: HistoryBytes | null } | null): void {
    const b = this.#b;
    const entries = t.history;
    b.open();
    const start = b.length;
    const known = cached?.history;
    const n = entries.length;
    let from = 0;
    if (known != null && known.count <= n && entries[0] === known.first && entries[known.count - 1] === known.last) {
      b.appendText(known.text);
      from = known.count;
    }
    if (from < n) {
      writeEntries(b, entries, from, t.createdAt);
      if (cached !== null && n >= HISTORY_CACHED_FROM) cached.history = { first: entries[0]!, last: entries[n - 1]!, count: n, text: b.textFrom(start) };
    }
    b.close();
  }
}

export function decodeTask(text: string): TaskRecord {
  const r = JSON.parse(text) as Row;
  return r[0] === LAYOUT ? task2Of(r, r[TASK_2_CREATED] as number, r[TASK_2_ID] as string) : taskOf(r, 0, '');
}
export const decodeRun = (text: string): RunRecord => runOf(JSON.parse(text) as Row, 0, '');
export const decodeHistory = (text: string): HistoryEntry[] => (JSON.parse(text) as Row[]).map((e) => historyOf(e, 0, ''));
