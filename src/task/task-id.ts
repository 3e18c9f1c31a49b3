import { randomBytes } from 'node:crypto';

/**
 * Task ids sort by creation time as plain strings, so the store's indexes list newest first by
 * walking keys backwards: 9 base-36 digits of ms, 4 of a per-ms counter, 6 random characters.
 */
export class TaskIdGenerator {
  #lastMs = 0;
  #counter = 0;
  #pool = Buffer.alloc(0);
  #poolPos = 0;
  /** The ms digits of #lastMs, as character codes: they change once per ms, not per id. */
  #msDigits: number[] = [];
  #msDigitsOf = -1;

  next(now: number): string {
    if (now > this.#lastMs) {
      this.#lastMs = now;
      this.#counter = 0;
    } else if (++this.#counter >= 36 ** 4) {
      // More than 1.6M ids in one ms: borrow the next ms so order and uniqueness hold.
      this.#lastMs += 1;
      this.#counter = 0;
    }
    if (this.#msDigitsOf !== this.#lastMs) {
      this.#msDigits = Array.from(this.#lastMs.toString(36).padStart(9, '0'), (c) => c.charCodeAt(0));
      this.#msDigitsOf = this.#lastMs;
    }
    if (this.#poolPos + 6 > this.#pool.length) {
      this.#pool = randomBytes(6 * 1024);
      this.#poolPos = 0;
    }
    // One flat string from its 19 character codes: concatenating the parts built a tree of
    // strings per id, flattened again wherever the id was hashed or written.
    const m = this.#msDigits;
    const c = this.#counter;
    const pool = this.#pool;
    const r = this.#poolPos;
    this.#poolPos += 6;
    return String.fromCharCode(
      m[0]!, m[1]!, m[2]!, m[3]!, m[4]!, m[5]!, m[6]!, m[7]!, m[8]!,
      DIGIT[Math.floor(c / 46_656)]!, DIGIT[Math.floor(c / 1296) % 36]!, DIGIT[Math.floor(c / 36) % 36]!, DIGIT[c % 36]!,
      DIGIT[pool[r]! % 36]!, DIGIT[pool[r + 1]! % 36]!, DIGIT[pool[r + 2]! % 36]!, DIGIT[pool[r + 3]! % 36]!, DIGIT[pool[r + 4]! % 36]!, DIGIT[pool[r + 5]! % 36]!,
    );
  }
}

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
/** ALPHABET's character codes: digit d of an id is DIGIT[d]. */
const DIGIT = Array.from(ALPHABET, (c) => c.charCodeAt(0));

/** The shape of every id `next` makes (9 + 4 + 6 characters of ALPHABET). */
export const TASK_ID_PATTERN = /^[0-9a-z]{19}$/;
