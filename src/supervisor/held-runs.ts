import type { Clock, Timer } from '../clock.js';

/**
 * Runs go to their workers this long before their due time, with what is left as a wait the worker
 * keeps itself: the hop to the worker and a busy main thread are then not paid between the due time
 * and the handler (a worker's own timer is about as punctual as a plain setTimeout).
 */
export const SEND_AHEAD_MS = 3;

/** Sends a held run: `sentAt`, its start on the source's clock; `holdMs`, the worker's wait before its handler. */
export type Send = (sentAt: number, holdMs: number) => void;

/** Runs to be sent together at `at` (the source's ms since the epoch). */
interface Batch {
  at: number;
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
  /** The source's time now: due times and startedAt are on its clock. */
  readonly #now: () => number;
  readonly #batches = new Map<number, Batch>();
  readonly #batchOf = new Map<string, Batch>();

  constructor(clock: Clock, now: () => number) {
    this.#clock = clock;
    this.#now = now;
  }

  /** Sends the run to start at `at`, `wait` ms from now. */
  hold(runId: string, at: number, wait: number, send: Send): void {
    let batch = this.#batches.get(at);
    if (batch === undefined) {
      batch = { at, timer: this.#timer(at, wait), sends: new Map() };
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
   * handler starts before its due time. Left longer than the whole wait, the clock was set back:
   * the batch goes now, unheld.
   */
  #timer(at: number, wait: number): Timer {
    return this.#clock.setTimer(() => {
      const batch = this.#batches.get(at)!;
      const now = this.#now();
      const left = at - now;
      if (left > SEND_AHEAD_MS && left <= wait) {
        batch.timer = this.#timer(at, left);
        return;
      }
      this.#batches.delete(at);
      for (const runId of batch.sends.keys()) this.#batchOf.delete(runId);
      const holdMs = left > 0 && left <= wait ? left : 0;
      for (const send of batch.sends.values()) send(Math.max(at, now), holdMs);
    }, wait - SEND_AHEAD_MS);
  }
}
