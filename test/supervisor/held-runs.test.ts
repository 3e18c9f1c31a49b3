import { describe, expect, it } from 'vitest';
import { type Clock, systemClock } from '../../src/clock.js';
import { HeldRuns } from '../../src/supervisor/held-runs.js';

/**
 * Held runs over a source time the test moves against monotonic time (`shift`), in fractions of a
 * ms as a database clock's estimate is, and timers the test fires by hand (`fire`). Monotonic time
 * stands still: no real time passes between the steps, however loaded the machine.
 */
function bed(): { held: HeldRuns; shift(ms: number): void; fire(): void; timers: number } {
  const pending: Array<() => void> = [];
  const clock: Clock = {
    ...systemClock,
    setTimer: (fn) => { pending.push(fn); return setTimeout(() => undefined, 0); },
    clearTimer: () => undefined,
  };
  const monotonic = 52_000;
  let offset = 1_796_656_000_000.25 - monotonic;
  const held = new HeldRuns(clock, () => monotonic + offset, () => monotonic);
  return { held, shift: (ms) => { offset += ms; }, fire: () => pending.shift()!(), get timers() { return pending.length; } };
}

interface Sent { sentAt: number; startAt: number | undefined }

/** Holds one run due `ms` after the source's time now; returns its due time, the instant it was to start at, and what it was sent with. */
function holdOne(b: ReturnType<typeof bed>, ms: number): { at: number; planned: number; sent: Sent[] } {
  const now = b.held.now();
  const at = Math.ceil(now) + ms;
  const planned = b.held.startAt(at);
  const sent: Sent[] = [];
  b.held.hold('run-1', at, at - now, (sentAt, startAt) => sent.push({ sentAt, startAt }));
  return { at, planned, sent };
}

describe('HeldRuns: a run claimed ahead of its due time goes to its worker with the instant its handler may start', () => {
  it('the source time gone back by more than the whole wait (a database clock estimate renewed from a slower round trip) sends it to start when the wait it was held for ends, not at once', () => {
    const b = bed();
    const { at, planned, sent } = holdOne(b, 10);
    b.shift(-25);
    b.fire();
    expect(sent).toEqual([{ sentAt: at, startAt: planned }]);
  });

  it('fired with more than SEND_AHEAD_MS left, it waits again, and goes with the instant the latest reading places its due time at', () => {
    const b = bed();
    const { at, planned, sent } = holdOne(b, 20);
    // 10 ms on the source's clock (a timer firing early against it): more than SEND_AHEAD_MS left.
    b.shift(10);
    b.fire();
    expect(sent).toEqual([]);
    expect(b.timers).toBe(1);
    b.shift(8);
    b.fire();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.sentAt).toBe(at);
    // The source's time ran 18 ms ahead of monotonic time: its due time comes 18 ms sooner.
    expect(sent[0]!.startAt).toBe(planned - 18);
  });

  it('the source time gone past the due time sends it at once, at the source time of the sending, with nothing to wait', () => {
    const b = bed();
    const { at, sent } = holdOne(b, 10);
    b.shift(30);
    b.fire();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.startAt).toBeUndefined();
    expect(sent[0]!.sentAt).toBeGreaterThan(at + 19);
    expect(sent[0]!.sentAt).toBeLessThanOrEqual(b.held.now());
  });
});
