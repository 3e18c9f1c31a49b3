import { describe, expect, it } from 'vitest';
import { DAY, HOUR, MAX_TIMER_MS, MINUTE } from '../../src/duration.js';
import { adaptInterval, compileSchedule } from '../../src/schedule/index.js';
import { firesAfter, firesOf, isos, ms } from './fire-times.js';

/** One-shot forms (none, `at`, `in`) and `every`, with start, end, count and adaptive intervals. */

const NOW = ms('2027-01-01T00:00Z');

describe('one-shot schedules', () => {
  it('no schedule is due now, once', () => {
    const c = compileSchedule(undefined, NOW);
    expect(c).toMatchObject({ spec: { at: '2027-01-01T00:00:00.000Z' }, recurring: false, first: NOW, adaptive: null });
    expect(c.trigger.next(NOW)).toBeNull();
  });

  it('`at` in the future is due then, once', () => {
    const c = compileSchedule({ at: '2027-06-01T09:00:00+02:00' }, NOW);
    expect(c).toMatchObject({ spec: { at: '2027-06-01T07:00:00.000Z' }, recurring: false, first: ms('2027-06-01T07:00Z') });
    expect(firesAfter(c.trigger, NOW, 5)).toEqual(isos(['2027-06-01T07:00Z']));
  });

  it('`at` in the past is due now', () => {
    const c = compileSchedule({ at: '2026-12-01T09:00:00Z' }, NOW);
    expect(c.first).toBe(NOW);
    expect(c.spec).toEqual({ at: '2026-12-01T09:00:00.000Z' });
  });

  it('`at` takes milliseconds since the epoch', () => {
    expect(compileSchedule({ at: ms('2027-06-01T07:00Z') }, NOW).spec).toEqual({ at: '2027-06-01T07:00:00.000Z' });
  });

  it.each([
    ['10m', 10 * MINUTE],
    ['0s', 0],
    [1500, 1500],
    // Past setTimeout's reach: the runtime's timers re-arm, so the schedule may be this far.
    ['60d', 60 * DAY],
  ])('`in: %j` becomes an `at` that long after the submit time', (delay, delta) => {
    const c = compileSchedule({ in: delay }, NOW);
    expect(c.spec).toEqual({ at: new Date(NOW + delta).toISOString() });
    expect(c.first).toBe(NOW + delta);
    expect(c.recurring).toBe(false);
  });
});

describe('every', () => {
  it('starts at the submit time by default, which is its first fire, and stores that start', () => {
    const c = compileSchedule({ every: '15m' }, NOW);
    expect(c.spec).toEqual({ every: '15m', start: '2027-01-01T00:00:00.000Z' });
    expect(c.recurring).toBe(true);
    expect(firesOf({ every: '15m' }, NOW, 3)).toEqual(isos(['2027-01-01T00:00Z', '2027-01-01T00:15Z', '2027-01-01T00:30Z']));
  });

  it('waits for a future start', () => {
    expect(firesOf({ every: 90_000, start: '2027-01-02T00:00Z' }, NOW, 3)).toEqual(isos(['2027-01-02T00:00Z', '2027-01-02T00:01:30Z', '2027-01-02T00:03Z']));
  });

  it('keeps the grid of a past start', () => {
    expect(firesOf({ every: '15m', start: '2026-12-31T23:50Z' }, NOW, 2)).toEqual(isos(['2027-01-01T00:05Z', '2027-01-01T00:20Z']));
  });

  it('fires at an end on its grid and stops there', () => {
    expect(firesOf({ every: '1h', end: '2027-01-01T03:00Z' }, NOW, 10)).toEqual(isos(['2027-01-01T00:00Z', '2027-01-01T01:00Z', '2027-01-01T02:00Z', '2027-01-01T03:00Z']));
  });

  it('fires count times from start', () => {
    expect(firesOf({ every: '1h', count: 3 }, NOW, 10)).toEqual(isos(['2027-01-01T00:00Z', '2027-01-01T01:00Z', '2027-01-01T02:00Z']));
  });

  it('counts the fire times a past start already had', () => {
    expect(firesOf({ every: '1h', start: '2026-12-31T22:00Z', count: 4 }, NOW, 10)).toEqual(isos(['2027-01-01T00:00Z', '2027-01-01T01:00Z']));
  });

  it('applies end and count together, whichever comes first', () => {
    expect(firesOf({ every: '1h', count: 10, end: '2027-01-01T01:30Z' }, NOW, 10)).toEqual(isos(['2027-01-01T00:00Z', '2027-01-01T01:00Z']));
    expect(firesOf({ every: '1h', count: 2, end: '2027-01-02T00:00Z' }, NOW, 10)).toEqual(isos(['2027-01-01T00:00Z', '2027-01-01T01:00Z']));
  });

  it('takes an interval past setTimeout\'s 2^31−1 ms (the runtime re-arms its timers)', () => {
    const interval = 30 * DAY;
    expect(interval).toBeGreaterThan(MAX_TIMER_MS);
    expect(firesOf({ every: '30d' }, NOW, 3)).toEqual(isos(['2027-01-01T00:00Z', '2027-01-31T00:00Z', '2027-03-02T00:00Z']));
  });

  it('is plain elapsed time: a daylight-saving change does not move it', () => {
    expect(firesOf({ every: '1h', start: '2027-03-14T05:00Z' }, NOW, 4)).toEqual(isos(['2027-03-14T05:00Z', '2027-03-14T06:00Z', '2027-03-14T07:00Z', '2027-03-14T08:00Z']));
  });
});

describe('adaptive every', () => {
  const adaptive = { every: 10 * MINUTE, minEvery: MINUTE, maxEvery: HOUR, backoff: 2 };

  it('compiles its limits in ms and stores the fields as given', () => {
    const c = compileSchedule({ every: '10m', minEvery: '1m', maxEvery: 3_600_000, backoff: 2 }, NOW);
    expect(c.adaptive).toEqual(adaptive);
    expect(c.spec).toEqual({ every: '10m', start: '2027-01-01T00:00:00.000Z', minEvery: '1m', maxEvery: 3_600_000, backoff: 2 });
  });

  it('a plain every has no adaptive limits', () => {
    expect(compileSchedule({ every: '10m' }, NOW).adaptive).toBeNull();
  });

  it.each([
    { current: 10 * MINUTE, eventful: false, next: 20 * MINUTE },
    { current: 40 * MINUTE, eventful: false, next: HOUR },
    { current: HOUR, eventful: false, next: HOUR },
    { current: 10 * MINUTE, eventful: true, next: 5 * MINUTE },
    { current: 90_000, eventful: true, next: MINUTE },
    { current: MINUTE, eventful: true, next: MINUTE },
  ])('an interval of $current ms after an eventful=$eventful run becomes $next ms', ({ current, eventful, next }) => {
    expect(adaptInterval(current, eventful, adaptive)).toBe(next);
  });

  it('rounds a fractional backoff to whole milliseconds', () => {
    expect(adaptInterval(1001, false, { every: 1000, minEvery: 1, maxEvery: HOUR, backoff: 1.5 })).toBe(1502);
  });
});
