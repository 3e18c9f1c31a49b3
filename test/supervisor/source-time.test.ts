import { describe, expect, it } from 'vitest';
import { SourceTime } from '../../src/supervisor/held-runs.js';

/** A wall clock `offset` ms ahead of a monotonic one the test moves, read in whole ms as Date.now() reads it. */
function clocks(offset: number): { time: SourceTime; wall: { held: number | null }; tick(ms: number): void; trueNow(): number; monotonic(): number } {
  let monotonic = 1000;
  const wall = { held: null as number | null };
  const trueNow = (): number => monotonic + offset;
  const time = new SourceTime(() => wall.held ?? Math.floor(trueNow()), () => monotonic);
  return { time, wall, tick: (ms) => { monotonic += ms; }, trueNow, monotonic: () => monotonic };
}

describe('SourceTime: a source time read in whole ms, to a fraction of one', () => {
  it('once it has read the clock at a few points of the ms, it gives the time within a fraction of a ms, never ahead of it', () => {
    const c = clocks(1_700_000_000_000.637);
    const seen: number[] = [];
    for (let i = 0; i < 200; i++) {
      c.tick(0.173);
      const now = c.time.now();
      expect(now).toBeLessThanOrEqual(c.trueNow());
      expect(now).toBeGreaterThanOrEqual(Math.floor(c.trueNow()));
      seen.push(c.trueNow() - now);
    }
    expect(Math.max(...seen.slice(20))).toBeLessThan(0.2);
    // The monotonic instant of a source time ahead, from the reading: the true one (to the precision of
    // a double near 1.7e12), or a fraction of a ms after it.
    const due = Math.ceil(c.trueNow()) + 3;
    const at = c.time.monotonicAt(due);
    c.tick(1);
    expect(c.time.monotonicAt(due)).toBe(at);
    expect(at - (due - (c.trueNow() - c.monotonic()))).toBeGreaterThanOrEqual(-0.001);
    expect(at - (due - (c.trueNow() - c.monotonic()))).toBeLessThan(0.2);
  });

  it('takes a source time with fractions of a ms as it is, and places an instant ahead from that reading', () => {
    let monotonic = 10;
    const time = new SourceTime(() => 1234.5678 + (monotonic - 10), () => monotonic);
    expect(time.now()).toBe(1234.5678);
    monotonic = 12;
    // From the reading at monotonic 10, not from now (a PostgreSQL source's time has fractions).
    expect(time.monotonicAt(1240)).toBeCloseTo(10 + (1240 - 1234.5678), 9);
    expect(time.now()).toBeCloseTo(1236.5678, 9);
    expect(time.monotonicAt(1240)).toBeCloseTo(12 + (1240 - 1236.5678), 9);
  });

  it('follows the clock set back by more than a ms at once, and a clock held still never goes back nor reaches its next ms', () => {
    const c = clocks(5_000.25);
    for (let i = 0; i < 50; i++) {
      c.tick(0.37);
      c.time.now();
    }
    c.wall.held = Math.floor(c.trueNow()) - 10;
    expect(c.time.now()).toBe(c.wall.held);
    let last = -Infinity;
    for (let i = 0; i < 50; i++) {
      c.tick(0.1);
      const now = c.time.now();
      expect(now).toBeGreaterThanOrEqual(last);
      expect(now).toBeLessThan(c.wall.held + 1);
      last = now;
    }
  });
});
