import type { HistoryEntry, RunRecord, TaskRecord } from '../task/record.js';
import { JsonBytes } from './json-bytes.js';

/**
 * Stored values as JSON arrays in a fixed field order: about half the bytes of keyed objects, so
 * less to encode on the supervisor's thread and less for LevelDB to write. The first element is
 * the record version; the tables below (RUN, HISTORY, TASK) are the layout, written once for the
 * writer and the reader both (changing an order means a new STORE_LAYOUT).
 */

type Row = unknown[];

/**
 * How a field is written: the JsonBytes method of that name, but for the nested records (`run`: a
 * run record or null, `history`: a list of entries). The reader takes JSON.parse's value as is,
 * but for those.
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
}
type Kind = keyof KindValue;
/** The kinds that can write a value of type T (tuples: no distribution over T's union). */
type KindFor<T> = { [K in Kind]: [T] extends [KindValue[K]] ? K : never }[Kind];
/**
 * A field: its name, its kind, and `appended` for one added after layout 3, which records written
 * before it lack, so it reads back as null.
 */
type Field<R> = { [N in keyof R & string]: readonly [name: N, kind: KindFor<R[N]>, appended?: 'appended'] }[keyof R & string];
/** The table itself when it names every field of R (the tuple type checks each kind), else never. */
type Layout<R, F extends readonly Field<R>[]> = [Exclude<keyof R, F[number][0]>] extends [never] ? F : never;
const layout = <R>() => <const F extends readonly Field<R>[]>(fields: Layout<R, F>): readonly Field<R>[] => fields;

/** The layout: each record's fields in stored order, for the writer and the reader both. */
const RUN = layout<RunRecord>()([
  ['v', 'num'], ['taskId', 'str'], ['run', 'num'], ['attempt', 'num'], ['state', 'str'], ['startedAt', 'num'], ['endedAt', 'num'],
  ['durationMs', 'num'], ['worker', 'strOrNull'], ['output', 'strOrNull'], ['error', 'jsonOrNull'], ['progress', 'num'],
]);
const HISTORY = layout<HistoryEntry>()([['from', 'str'], ['to', 'str'], ['event', 'str'], ['at', 'num'], ['reason', 'strOrNull']]);
/** A task's fields fixed at submit come first, so their encoding is made once and reused. */
const TASK_FIXED = [
  ['v', 'num'], ['id', 'str'], ['type', 'str'], ['params', 'json'], ['schedule', 'json'], ['recurring', 'bool'], ['priority', 'num'],
  ['maxTries', 'num'], ['timeoutMs', 'num'], ['misfire', 'str'], ['graceMs', 'num'], ['key', 'strOrNull'], ['createdAt', 'num'],
] as const satisfies ReadonlyArray<Field<TaskRecord>>;
const TASK_CHANGING = [
  ['state', 'str'], ['reason', 'strOrNull'], ['tries', 'num'], ['runCount', 'num'], ['occurrences', 'num'], ['firedAt', 'num'],
  ['interval', 'num'], ['nextRunAt', 'num'], ['paused', 'bool'], ['updatedAt', 'num'], ['endedAt', 'num'], ['expiresAt', 'num'],
  ['lastRun', 'run'], ['history', 'history'], ['historyChunks', 'num'],
  ['keyExpiresAt', 'num', 'appended'], ['keyRetentionMs', 'num', 'appended'],
] as const satisfies ReadonlyArray<Field<TaskRecord>>;
const TASK = layout<TaskRecord>()([...TASK_FIXED, ...TASK_CHANGING]);

/**
 * The tables are compiled, once at load, to the straight-line code one would write by hand for
 * each record: a loop over a table instead (a keyed load and a switch per field; keyed stores to
 * decode) encoded ~30% and decoded ~2× slower, measured on 100,000 task records. Field names are the
 * records' property names (the table's type allows no other), checked again here as identifiers
 * before they go into code.
 */
type AnyField = readonly [name: string, kind: Kind, appended?: 'appended'];
interface Compiled {
  /** The code for one field. */
  field: (name: string, kind: Kind, i: number, appended: boolean) => string;
  /** The function around the fields' code, joined by `join`. */
  join: string;
  wrap: (fields: string) => string;
  /** What the code calls by name: the nested records' writers or readers. */
  nested: Record<string, unknown>;
}

function compile<F>(fields: readonly AnyField[], c: Compiled): F {
  for (const [name] of fields) if (!/^[A-Za-z]\w*$/.test(name)) throw new Error(`record-codec: ${name} is not a field name`);
  const code = fields.map(([name, kind, appended], i) => c.field(name, kind, i, appended !== undefined)).join(c.join);
  return new Function(...Object.keys(c.nested), `return ${c.wrap(code)};`)(...Object.values(c.nested)) as F;
}

type Writer<R> = (b: JsonBytes, rec: R) => void;
type Reader<R> = (r: Row) => R;

/** `b.num(rec.tries); b.str(rec.state); …`: a record's fields, each with its comma, no brackets. */
function fieldWriter<R>(fields: readonly Field<R>[], nested: { run?: Writer<RunRecord>; history?: Writer<readonly HistoryEntry[]> } = {}): Writer<R> {
  return compile<Writer<R>>(fields, {
    field: (name, kind) => {
      if (kind === 'run') return `if (rec.${name} === null) b.null(); else run(b, rec.${name});`;
      if (kind === 'history') return `history(b, rec.${name});`;
      return `b.${kind}(rec.${name});`;
    },
    join: '\n',
    wrap: (code) => `function write(b, rec) {\n${code}\n}`,
    nested,
  });
}

/** `{ v: r[0], id: r[1], … }`: a record from the row JSON.parse made of its bytes. */
function reader<R>(fields: readonly Field<R>[], nested: { run?: Reader<RunRecord>; history?: Reader<HistoryEntry> } = {}): Reader<R> {
  return compile<Reader<R>>(fields, {
    field: (name, kind, i, appended) => {
      if (kind === 'run') return `${name}: r[${i}] === null ? null : run(r[${i}])`;
      if (kind === 'history') return `${name}: r[${i}].map(history)`;
      // Records written before an appended field lack it.
      return `${name}: ${appended ? `r[${i}] ?? null` : `r[${i}]`}`;
    },
    join: ', ',
    wrap: (code) => `function read(r) { return { ${code} }; }`,
    nested,
  });
}

const runFields = fieldWriter(RUN);
const historyFields = fieldWriter(HISTORY);

function writeRun(b: JsonBytes, r: RunRecord): void {
  b.open();
  runFields(b, r);
  b.close();
}

function writeHistory(b: JsonBytes, entries: readonly HistoryEntry[]): void {
  b.open();
  writeEntries(b, entries, 0);
  b.close();
}

/** Entries from `from` on, each an array with its comma, no brackets around them. */
function writeEntries(b: JsonBytes, entries: readonly HistoryEntry[], from: number): void {
  for (let i = from; i < entries.length; i++) {
    b.open();
    historyFields(b, entries[i]!);
    b.close();
  }
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
const TASK_HISTORY = TASK_CHANGING.findIndex(([name]) => name === 'history');
const taskFixedFields = fieldWriter<TaskRecord>(TASK_FIXED);
const taskChangingFields = fieldWriter<TaskRecord>(TASK_CHANGING.slice(0, TASK_HISTORY), { run: writeRun });
const taskLastFields = fieldWriter<TaskRecord>(TASK_CHANGING.slice(TASK_HISTORY + 1));

const runOf = reader(RUN);
const historyOf = reader(HISTORY);
const taskOf = reader(TASK, { run: runOf, history: historyOf });

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
    taskChangingFields(b, t);
    this.#history(t.history, cached);
    taskLastFields(b, t);
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
    taskFixedFields(b, t);
    if (owner === null) return null;
    const entry = { id: t.id, key: t.key, text: b.textFrom(from), history: null };
    this.#fixed.set(owner, entry);
    return entry;
  }

  /** The history field: the entries written before from the cache, only the new ones encoded. */
  #history(entries: readonly HistoryEntry[], cached: { history: HistoryBytes | null } | null): void {
    const b = this.#b;
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
      writeEntries(b, entries, from);
      if (cached !== null && n >= HISTORY_CACHED_FROM) cached.history = { first: entries[0]!, last: entries[n - 1]!, count: n, text: b.textFrom(start) };
    }
    b.close();
  }
}

export const decodeTask = (text: string): TaskRecord => taskOf(JSON.parse(text) as Row);
export const decodeRun = (text: string): RunRecord => runOf(JSON.parse(text) as Row);
export const decodeHistory = (text: string): HistoryEntry[] => (JSON.parse(text) as Row[]).map(historyOf);
