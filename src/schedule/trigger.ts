import { LAST_INSTANT } from './civil.js';

/**
 * A schedule's firing rule, pure: the instant is always an argument. `next(after)` is the first
 * fire time strictly after `after` (ms since the epoch), not before the schedule's start and
 * within its end and count; null when there is none.
 */
export interface Trigger {
  next(after: number): number | null;
}

/** The window and the cap on occurrences of a recurring schedule. */
export interface Bounds {
  start?: number;
  end?: number;
  count?: number;
}

/**
 * Applies start, end and count to a trigger that knows none of them.
 *
 * Count: a fire time is allowed when fewer than `count` fire times precede it from start. That
 * index is found by stepping the inner trigger from a cursor, the last fire time whose index is
 * known, kept between calls: the supervisor asks in order, so each call steps once or twice, and
 * a restart or a far `after` steps at most `count` times (count is capped at MAX_COUNT). Counting
 * from start, not from the last run, keeps the answer a pure function of the stored schedule.
 */
export class BoundedTrigger implements Trigger {
  readonly #inner: Trigger;
  readonly #bounds: Bounds;
  #cursor: { at: number; index: number } | null = null;

  constructor(inner: Trigger, bounds: Bounds) {
    this.#inner = inner;
    this.#bounds = bounds;
  }

  next(after: number): number | null {
    const { start, end, count } = this.#bounds;
    const t = this.#inner.next(start === undefined ? after : Math.max(after, start - 1));
    if (t === null || t > (end ?? LAST_INSTANT)) return null;
    return count === undefined || this.#index(t, count) < count ? t : null;
  }

  /** How many fire times precede `t` from start, or `count` when at least that many do. */
  #index(t: number, count: number): number {
    let c = this.#cursor;
    if (c === null || c.at > t) {
      // A count always comes with a start (see parseBounds).
      const first = this.#inner.next(this.#bounds.start! - 1);
      if (first === null) return count;
      c = { at: first, index: 0 };
    }
    while (c.at < t && c.index < count) {
      const next = this.#inner.next(c.at);
      if (next === null) break;
      c = { at: next, index: c.index + 1 };
    }
    this.#cursor = c;
    return c.at === t ? c.index : count;
  }
}
