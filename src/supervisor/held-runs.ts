import type { Clock, Timer } from '../clock.js';

/**
 * Runs go to their workers this long before their due time, with what is left as a wait the worker
 * keeps itself: the hop to the worker and a busy main thread are then not paid between the due time
 * and the handler (a worker's own timer is about as punctual as a plain setTimeout).
 */
export const SEND_AHEAD_MS = 3;

/**
 * Sends a held run: `sentAt`, its start on the source's clock; `startAt`, the instant (this
 * thread's performance.now()) before which its worker does not start its handler, if any.
 */
export type Send = (sentAt: number, startAt: number | undefined) => void;

/**
 * The source's time to a fraction of a ms. A source that reads the wall clock in whole ms
 * (Date.now()) is behind by the part of the ms gone, which every held run's wait would be long by.
 * Such a reading minus monotonic time is at most the two clocks' offset, and within a ms of it:
 * the highest seen is kept (the wall clock moves against monotonic time only when it is set, and
 * one set back starts the estimate again), and the time is read as monotonic time plus it, taken
 * only within the ms the source reads, so that it is never ahead of the source, nor behind what it
 * gave before within that ms (held runs take time going back for a clock set back). A source time
 * in fractions of a ms already is taken as it is.
 */
export class SourceTime {
  readonly #now: () => number;
  readonly #monotonic: () => number;
  #offset = -Infinity;
  #last = -Infinity;
  /** Monotonic time at the last reading. */
  #readAt = 0;

  constructor(now: () => number, monotonic: () => number) {
    this.#now = now;
    this.#monotonic = monotonic;
  }

  now(): number {
    const now = this.#now();
    const monotonic = this.#monotonic();
    this.#readAt = monotonic;
    if (!Number.isInteger(now)) {
      // Recorded all the same: monotonicAt counts from this reading.
      this.#last = now;
      return now;
    }
    let precise = monotonic + this.#offset;
    if (precise < now || precise >= now + 1) {
      // Below the reading: a better estimate. A ms or more above it: the clock was set back (or a
      // test holds it still) and the estimate starts again from this reading.
      this.#offset = now - monotonic;
      precise = now;
    }
    if (this.#last > precise && this.#last < now + 1) precise = this.#last;
    this.#last = precise;
    return precise;
  }

  /**
   * Monotonic time when the source's time reaches `at`, as of the last reading: taken from the
   * reading, not from the moment of the call, so that what runs between (a burst of sends, a
   * garbage collection) does not push it later.
   */
  monotonicAt(at: number): number {
    return this.#readAt + (at - this.#last);
  }
}

/** Runs to be sent together at `at` (the source's ms since the epoch). */
interface Batch {
  at: number;
  /** When it was held, the instant (performance.now()) the source's time would reach `at`. */
  startAt: number;
  timer: Timer;
  /** Per run id, what sends it. */
  sends: Map<string, Send>;
}

/**
 * Runs claimed ahead of their due time (the source's claim lead), held until it: their starts are
 * written, their slots taken, and they are sent SEND_AHEAD_MS before their startedAt, one timer per
 * send time.
 */
export class HeldRuns {
  readonly #clock: Clock;
  /** The source's time: due times and startedAt are on its clock. */
  readonly #time: SourceTime;
  readonly #batches = new Map<number, Batch>();
  readonly #batchOf = new Map<string, Batch>();

  /**
   * `monotonic`: the clock of a RunRequest's startAt, this thread's performance.now() (a test
   * gives its own, so that no real time passes between its steps).
   */
  constructor(clock: Clock, now: () => number, monotonic: () => number = () => performance.now()) {
    this.#clock = clock;
    this.#time = new SourceTime(now, monotonic);
  }

  /** The source's time now, to a fraction of a ms (see SourceTime). */
  now(): number {
    return this.#time.now();
  }

  /** The performance.now() instant at which the source's time reaches `at`, as of the last now(). */
  startAt(at: number): number {
    return this.#time.monotonicAt(at);
  }

  /** Sends the run to start at `at`, `wait` ms from now. */
  hold(runId: string, at: number, wait: number, send: Send): void {
    let batch = this.#batches.get(at);
    if (batch === undefined) {
      batch = { at, startAt: this.#time.monotonicAt(at), timer: this.#timer(at, wait), sends: new Map() };
      this.#batches.set(at, batch);
    }
    batch.sends.set(runId, send);
    this.#batchOf.set(runId, batch);
  }

  /** Takes a held run out unsent; false when it is not held (sent already, or never held). */
  drop(runId: string): boolean {
    const batch = this.#batchOf.get(runId);
    if (batch === undefined) return false;
    this.#batchOf.delete(runId);
    batch.sends.delete(runId);
    if (batch.sends.size === 0) {
      this.#clock.clearTimer(batch.timer);
      this.#batches.delete(batch.at);
    }
    return true;
  }

  /** The ids of the runs held now. */
  runIds(): string[] {
    return [...this.#batchOf.keys()];
  }

  /**
   * A timer may fire early against the source's clock (Node times it from the loop's cached time):
   * what is left beyond SEND_AHEAD_MS is waited again, and the rest is the workers' wait, so that no
   * handler starts before its due time. Left longer than the whole wait, the source's time went
   * back (a wall clock set back, or a database clock's estimate renewed from a slower round trip):
   * the batch starts when the wait it was held for ends, neither held the time gone back over again
   * nor started ahead of the reading it was held from.
   */
  #timer(at: number, wait: number): Timer {
    return this.#clock.setTimer(() => {
      const batch = this.#batches.get(at)!;
      const now = this.#time.now();
      const left = at - now;
      if (left > SEND_AHEAD_MS && left <= wait) {
        batch.timer = this.#timer(at, left);
        return;
      }
      this.#batches.delete(at);
      for (const runId of batch.sends.keys()) this.#batchOf.delete(runId);
      const startAt = left <= 0 ? undefined : left <= wait ? this.#time.monotonicAt(at) : batch.startAt;
      for (const send of batch.sends.values()) send(Math.max(at, now), startAt);
    }, wait - SEND_AHEAD_MS);
  }
}
