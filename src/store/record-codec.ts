import type { HistoryEntry, RunRecord, TaskRecord } from '../task/record.js';

/**
 * Stored values as JSON arrays in a fixed field order: about half the bytes of keyed objects, so
 * less to encode on the supervisor's thread and less for LevelDB to write. The first element is
 * the record version; the order below is the layout (changing it means a new STORE_LAYOUT). The
 * fields a task never changes come first, so their encoding is made once and reused.
 */

type Row = unknown[];

const historyOf = (r: Row): HistoryEntry => ({ from: r[0], to: r[1], event: r[2], at: r[3], reason: r[4] } as HistoryEntry);

function runOf(r: Row): RunRecord {
  return {
    v: r[0], taskId: r[1], run: r[2], attempt: r[3], state: r[4], startedAt: r[5], endedAt: r[6],
    durationMs: r[7], worker: r[8], output: r[9], error: r[10], progress: r[11],
  } as RunRecord;
}

/** "00" to "99" as ASCII digit pairs. */
const PAIRS = Uint8Array.from({ length: 200 }, (_, i) => 0x30 + (i % 2 === 0 ? Math.floor(i / 20) : (i >> 1) % 10));

function digitsOf(x: number): number {
  let d = 1;
  for (let limit = 10; x >= limit && d < 10; limit *= 10) d++;
  return d;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
/**
 * Room for any one number, word or punctuation mark (`room` is checked per field, not per byte).
 * Longer strings check for their own room.
 */
const FIELD = 32;

/**
 * Writes records as UTF-8 JSON straight into one reused buffer. On the supervisor's hottest path
 * this replaced string templates: those built a rope of small strings per record, which LevelDB's
 * binding then flattened and scanned twice for UTF-8 (together about a sixth of the thread's time
 * and a third of its allocations, measured). Each value returned is a view of the buffer, valid
 * until the next call: LevelDB copies a value when it is added to a batch.
 */
export class RecordWriter {
  #buf: Buffer = Buffer.allocUnsafe(16 * 1024);
  #pos = 0;
  /**
   * The bytes of the fields fixed at submit, made once per task: neither large params nor the
   * rest is encoded again at every write. Keyed by the schedule object, which every task holds for
   * as long as it is in memory (copies of a record share it); the id guards against two tasks
   * given one schedule object by an in-process caller.
   */
  readonly #fixed = new WeakMap<object, { id: string; bytes: Buffer }>();

  task(t: TaskRecord): Uint8Array {
    this.#pos = 0;
    this.#fixedFields(t);
    this.#str(t.state);
    this.#strOrNull(t.reason);
    this.#num(t.tries);
    this.#num(t.runCount);
    this.#num(t.occurrences);
    this.#num(t.firedAt);
    this.#num(t.interval);
    this.#num(t.nextRunAt);
    this.#bool(t.paused);
    this.#num(t.updatedAt);
    this.#num(t.endedAt);
    this.#num(t.expiresAt);
    if (t.lastRun === null) this.#null();
    else this.#run(t.lastRun);
    this.#history(t.history);
    this.#num(t.historyChunks);
    // Appended after the layout-3 fields, so records written before them read back as null.
    this.#num(t.keyExpiresAt);
    this.#num(t.keyRetentionMs);
    this.#close();
    return this.#value();
  }

  run(r: RunRecord): Uint8Array {
    this.#pos = 0;
    this.#run(r);
    return this.#value();
  }

  history(entries: readonly HistoryEntry[]): Uint8Array {
    this.#pos = 0;
    this.#history(entries);
    return this.#value();
  }

  /** The record's bytes: all written but the comma after it. */
  #value(): Uint8Array {
    return this.#buf.subarray(0, this.#pos - 1);
  }

  #fixedFields(t: TaskRecord): void {
    const owner = typeof t.schedule === 'object' && t.schedule !== null ? t.schedule : null;
    const cached = owner === null ? undefined : this.#fixed.get(owner);
    if (cached !== undefined && cached.id === t.id) {
      this.#room(cached.bytes.length);
      this.#buf.set(cached.bytes, this.#pos);
      this.#pos += cached.bytes.length;
      return;
    }
    const from = this.#pos;
    this.#open();
    this.#num(t.v);
    this.#str(t.id);
    this.#str(t.type);
    this.#json(t.params);
    this.#json(t.schedule);
    this.#bool(t.recurring);
    this.#num(t.priority);
    this.#num(t.maxTries);
    this.#num(t.timeoutMs);
    this.#str(t.misfire);
    this.#num(t.graceMs);
    this.#strOrNull(t.key);
    this.#num(t.createdAt);
    if (owner === null) return;
    const bytes = Buffer.allocUnsafe(this.#pos - from);
    this.#buf.copy(bytes, 0, from, this.#pos);
    this.#fixed.set(owner, { id: t.id, bytes });
  }

  #run(r: RunRecord): void {
    this.#open();
    this.#num(r.v);
    this.#str(r.taskId);
    this.#num(r.run);
    this.#num(r.attempt);
    this.#str(r.state);
    this.#num(r.startedAt);
    this.#num(r.endedAt);
    this.#num(r.durationMs);
    this.#strOrNull(r.worker);
    this.#strOrNull(r.output);
    if (r.error === null) this.#null();
    else this.#json(r.error);
    this.#num(r.progress);
    this.#close();
  }

  #history(entries: readonly HistoryEntry[]): void {
    this.#open();
    for (let i = 0; i < entries.length; i++) {
      const h = entries[i]!;
      this.#open();
      this.#str(h.from);
      this.#str(h.to);
      this.#str(h.event);
      this.#num(h.at);
      this.#strOrNull(h.reason);
      this.#close();
    }
    this.#close();
  }

  // Each field below is written with the comma that follows it; #close takes back the comma
  // after a list's last field, #value the one after the record.

  #open(): void {
    this.#room(FIELD);
    this.#buf[this.#pos++] = OPEN;
  }

  #close(): void {
    if (this.#buf[this.#pos - 1] === COMMA) this.#pos--;
    this.#room(FIELD);
    this.#buf[this.#pos++] = CLOSE;
    this.#buf[this.#pos++] = COMMA;
  }

  #null(): void {
    this.#ascii('null,');
  }

  #bool(b: boolean): void {
    this.#ascii(b ? 'true,' : 'false,');
  }

  /** A number as JSON.stringify writes it (null for what JSON cannot hold). */
  #num(n: number | null): void {
    if (n === null || !Number.isFinite(n)) return this.#null();
    if (!Number.isSafeInteger(n) || n < 0) return this.#ascii(`${n},`);
    this.#room(FIELD);
    // Digits by int32 halves: a time in ms is 13 digits, and float division per digit cost ~10×.
    if (n < 2 ** 31) {
      this.#int(n | 0, digitsOf(n | 0));
    } else {
      const hi = Math.floor(n / 1e8);
      this.#int(hi, digitsOf(hi));
      this.#int((n - hi * 1e8) | 0, 8);
    }
    this.#buf[this.#pos++] = COMMA;
  }

  /** A non-negative int32 in exactly `width` digits (zero-padded on the left). */
  #int(x: number, width: number): void {
    const buf = this.#buf;
    const start = this.#pos;
    let p = start + width;
    this.#pos = p;
    while (x >= 100) {
      const q = (x / 100) | 0;
      const r = (x - q * 100) << 1;
      buf[--p] = PAIRS[r + 1]!;
      buf[--p] = PAIRS[r]!;
      x = q;
    }
    if (x >= 10) {
      buf[--p] = PAIRS[(x << 1) + 1]!;
      buf[--p] = PAIRS[x << 1]!;
    } else {
      buf[--p] = 0x30 + x;
    }
    while (p > start) buf[--p] = 0x30;
  }

  /**
   * A JSON string. Printable ASCII without quote or backslash — states, words, ids, most names —
   * is copied as is; anything else is written as JSON.stringify escapes it.
   */
  #str(s: string): void {
    this.#room(s.length + 3);
    const buf = this.#buf;
    let p = this.#pos;
    buf[p++] = QUOTE;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) return this.#json(s);
      buf[p++] = c;
    }
    buf[p++] = QUOTE;
    buf[p++] = COMMA;
    this.#pos = p;
  }

  #strOrNull(s: string | null): void {
    if (s === null) this.#null();
    else this.#str(s);
  }

  /** Any JSON value (undefined as null), through JSON.stringify. */
  #json(value: unknown): void {
    const text = JSON.stringify(value) ?? 'null';
    this.#room(text.length * 3 + 1);
    this.#pos += this.#buf.write(text, this.#pos, 'utf8');
    this.#buf[this.#pos++] = COMMA;
  }

  /** Text known to be ASCII. */
  #ascii(s: string): void {
    this.#room(s.length);
    for (let i = 0; i < s.length; i++) this.#buf[this.#pos++] = s.charCodeAt(i);
  }

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }
}

export function decodeTask(text: string): TaskRecord {
  const r = JSON.parse(text) as Row;
  return {
    v: r[0], id: r[1], type: r[2], params: r[3], schedule: r[4], recurring: r[5], priority: r[6], maxTries: r[7], timeoutMs: r[8],
    misfire: r[9], graceMs: r[10], key: r[11], createdAt: r[12], state: r[13], reason: r[14], tries: r[15], runCount: r[16],
    occurrences: r[17], firedAt: r[18], interval: r[19], nextRunAt: r[20], paused: r[21], updatedAt: r[22], endedAt: r[23],
    expiresAt: r[24], lastRun: r[25] === null ? null : runOf(r[25] as Row), history: (r[26] as Row[]).map(historyOf), historyChunks: r[27],
    keyExpiresAt: r[28] ?? null, keyRetentionMs: r[29] ?? null,
  } as TaskRecord;
}

export const decodeRun = (text: string): RunRecord => runOf(JSON.parse(text) as Row);
export const decodeHistory = (text: string): HistoryEntry[] => (JSON.parse(text) as Row[]).map(historyOf);
