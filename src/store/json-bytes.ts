/**
 * UTF-8 JSON written straight into one reused buffer, a value at a time, each with the comma that
 * follows it. On the supervisor's hottest path this replaced string templates: those built a rope
 * of small strings per record, which LevelDB's binding then flattened and scanned twice for UTF-8
 * (together about a sixth of the thread's time and a third of its allocations, measured). The
 * record writers (record-codec.ts) call one method per field; the methods' names are the layout's
 * field kinds.
 */

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
/** JSON text up to this long is copied in JS when ASCII (json()); longer goes through Buffer#write. */
const SHORT_TEXT = 128;

export class JsonBytes {
  #buf: Buffer = Buffer.allocUnsafe(16 * 1024);
  #pos = 0;

  /** Bytes written since the last reset. */
  get length(): number {
    return this.#pos;
  }

  /**
   * The bytes written since the last reset, but the comma after them: a view of the buffer, valid
   * until the next reset (LevelDB copies a value when it is added to a batch).
   */
  value(): Uint8Array {
    // A plain view: Buffer's subarray builds a Buffer through its subclass constructor, measurably
    // dearer on a path taken at every record written.
    return new Uint8Array(this.#buf.buffer, this.#buf.byteOffset, this.#pos - 1);
  }

  reset(): void {
    this.#pos = 0;
  }

  /**
   * The bytes written from `from` on as a latin1 string (one char per byte, so any bytes round-trip),
   * to append again later with appendText: cheaper to make and keep than a Buffer of its own
   * (measured on the fixed fields kept per task, see record-codec.ts).
   */
  textFrom(from: number): string {
    return this.#buf.toString('latin1', from, this.#pos);
  }

  /** Writes bytes kept by textFrom at the current position. */
  appendText(text: string): void {
    this.#room(text.length);
    this.#pos += this.#buf.write(text, this.#pos, 'latin1');
  }

  // Each field below is written with the comma that follows it; close() takes back the comma
  // after a list's last field, value() the one after the record.

  open(): void {
    this.#room(FIELD);
    this.#buf[this.#pos++] = OPEN;
  }

  close(): void {
    if (this.#buf[this.#pos - 1] === COMMA) this.#pos--;
    this.#room(FIELD);
    this.#buf[this.#pos++] = CLOSE;
    this.#buf[this.#pos++] = COMMA;
  }

  /** JSON's null; also the method a generated writer calls for a `run` field that is null. */
  null(): void {
    // Byte by byte, not through #ascii: most records hold several nulls.
    this.#room(FIELD);
    const buf = this.#buf;
    const p = this.#pos;
    buf[p] = 0x6e;
    buf[p + 1] = 0x75;
    buf[p + 2] = 0x6c;
    buf[p + 3] = 0x6c;
    buf[p + 4] = COMMA;
    this.#pos = p + 5;
  }

  bool(b: boolean): void {
    this.#ascii(b ? 'true,' : 'false,');
  }

  /** A number as JSON.stringify writes it (null for what JSON cannot hold). */
  num(n: number | null): void {
    if (n === null) return this.null();
    // Single digits first: most of a record's counts (version, tries, runs, priority, chunks).
    if (n >= 0 && n <= 9 && (n | 0) === n) {
      this.#room(FIELD);
      this.#buf[this.#pos++] = 0x30 + n;
      this.#buf[this.#pos++] = COMMA;
      return;
    }
    if (!Number.isFinite(n)) return this.null();
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
  str(s: string): void {
    this.#room(s.length + 3);
    const buf = this.#buf;
    let p = this.#pos;
    buf[p++] = QUOTE;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) return this.json(s);
      buf[p++] = c;
    }
    buf[p++] = QUOTE;
    buf[p++] = COMMA;
    this.#pos = p;
  }

  strOrNull(s: string | null): void {
    if (s === null) this.null();
    else this.str(s);
  }

  /** A JSON value where null is common: null without a JSON.stringify call. */
  jsonOrNull(value: object | null): void {
    if (value === null) this.null();
    else this.json(value);
  }

  /** Any JSON value (undefined as null), through JSON.stringify. */
  json(value: unknown): void {
    // Most tasks have no params: null without a JSON.stringify call.
    if (value === null || value === undefined) return this.null();
    const text = JSON.stringify(value) ?? 'null';
    this.#room(text.length * 3 + 1);
    if (text.length > SHORT_TEXT || !this.#asciiText(text)) this.#pos += this.#buf.write(text, this.#pos, 'utf8');
    this.#buf[this.#pos++] = COMMA;
  }

  /**
   * Copies short text byte by byte when it is all ASCII (as most params and schedules are), where
   * Buffer#write's checks cost more than the copy; false at the first other char, the position left
   * where it was (Buffer#write then writes over what was copied).
   */
  #asciiText(text: string): boolean {
    const buf = this.#buf;
    const start = this.#pos;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7f) return false;
      buf[start + i] = c;
    }
    this.#pos = start + text.length;
    return true;
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
