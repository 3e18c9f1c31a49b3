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

  next(now: number): string {
    if (now > this.#lastMs) {
      this.#lastMs = now;
      this.#counter = 0;
    } else if (++this.#counter >= 36 ** 4) {
      // More than 1.6M ids in one ms: borrow the next ms so order and uniqueness hold.
      this.#lastMs += 1;
      this.#counter = 0;
    }
    return this.#lastMs.toString(36).padStart(9, '0') + this.#counter.toString(36).padStart(4, '0') + this.#random();
  }

  #random(): string {
    if (this.#poolPos + 6 > this.#pool.length) {
      this.#pool = randomBytes(6 * 1024);
      this.#poolPos = 0;
    }
    let s = '';
    for (let i = 0; i < 6; i++) s += ALPHABET[this.#pool[this.#poolPos++]! % 36];
    return s;
  }
}

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** The shape of every id `next` makes (9 + 4 + 6 characters of ALPHABET). */
export const TASK_ID_PATTERN = /^[0-9a-z]{19}$/;
