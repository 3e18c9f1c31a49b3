import { MAX_TIMER_MS } from './duration.js';

/**
 * Time as the supervisor and the store see it, injectable so tests can move the wall clock. `now` is wall time
 * (due times are wall instants); timers and `monotonic` never jump with the wall clock.
 */
export interface Clock {
  now(): number;
  monotonic(): number;
  setTimer(fn: () => void, ms: number): Timer;
  clearTimer(timer: Timer): void;
}

export type Timer = ReturnType<typeof setTimeout>;

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  // Clamped so a far-off due time re-arms instead of firing after 1 ms.
  setTimer: (fn, ms) => setTimeout(fn, Math.min(Math.max(0, Math.ceil(ms)), MAX_TIMER_MS)),
  clearTimer: (t) => clearTimeout(t),
};
