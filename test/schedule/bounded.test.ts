import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SpindleError } from '../../src/errors.js';
import { compileSchedule } from '../../src/schedule/index.js';
import { ms } from './fire-times.js';

/**
 * Whatever comes in, compileSchedule returns or refuses with INVALID_SCHEDULE — never another
 * error, never an endless loop (vitest's timeout would catch one) — and a compiled trigger's fire
 * times are strictly later than the instant asked about. Inputs are generated near the grammar so
 * that many of them compile, and far from it so that every refusal path is walked.
 */

const NOW = ms('2027-01-01T00:00Z');
const ZONES = [undefined, 'UTC', 'America/New_York', 'Europe/Paris', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Mars/Olympus', 'utc', 42];

/** Compiles `input`: the compiled schedule, or null when refused as a schedule error (anything else fails the test). */
function compileOrRefuse(input: unknown): ReturnType<typeof compileSchedule> | null {
  try {
    return compileSchedule(input, NOW);
  } catch (err) {
    if (!(err instanceof SpindleError)) throw err;
    expect(err.code).toBe('INVALID_SCHEDULE');
    expect(err.details.field).toMatch(/^schedule\b/);
    return null;
  }
}

/** The first due time is not before the submit time, and each next fire time is later than the last. */
function checkFireTimes(c: ReturnType<typeof compileSchedule>, steps: number): void {
  expect(c.first).toBeGreaterThanOrEqual(NOW);
  let t = c.first;
  for (let i = 0; i < steps; i++) {
    const next = c.trigger.next(t);
    if (next === null) return;
    expect(next).toBeGreaterThan(t);
    t = next;
  }
}

const int = (min: number, max: number) => fc.integer({ min, max }).map(String);
const instant = fc.integer({ min: ms('2026-06-01T00:00Z') / 1000, max: ms('2028-01-01T00:00Z') / 1000 }).map((s) => new Date(s * 1000).toISOString());

/** A cron field near its grammar: mostly valid for [min, max], sometimes just outside it. */
const cronField = (min: number, max: number, extra: readonly string[] = []) => fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('*', ...extra) },
  { weight: 3, arbitrary: int(min, max) },
  { weight: 1, arbitrary: int(min - 2, max + 2) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: max + 1 }).map((n) => `*/${n}`) },
  { weight: 2, arbitrary: fc.tuple(int(min, max), int(min, max)).map(([a, b]) => `${a}-${b}`) },
  { weight: 1, arbitrary: fc.tuple(int(min, max), int(1, max)).map(([a, n]) => `${a}/${n}`) },
  { weight: 2, arbitrary: fc.array(int(min, max), { minLength: 1, maxLength: 4 }).map((v) => v.join(',')) },
);
const nearCron = fc.tuple(
  fc.option(cronField(0, 59), { nil: undefined }),
  cronField(0, 59),
  cronField(0, 23),
  cronField(1, 31, ['?', 'L']),
  cronField(1, 12, ['JAN', 'feb-apr', 'DEC']),
  cronField(0, 7, ['?', 'MON-FRI', 'sun', '5L', '1#2', '0#5', '3#6']),
).map((fields) => fields.filter((f) => f !== undefined).join(' '));
const cronToken = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('*', '?', 'L', 'W', '#', '/', '-', ',', '5L', '1#2', 'MON', 'jan', '@daily', '@reboot', '*/0', 'L-2', '') },
  { weight: 3, arbitrary: int(-5, 100) },
  { weight: 1, arbitrary: fc.string({ maxLength: 4 }) },
);
const cronText = fc.oneof(
  { weight: 4, arbitrary: nearCron },
  { weight: 1, arbitrary: fc.tuple(fc.array(cronToken, { minLength: 1, maxLength: 8 }), fc.constantFrom(' ', '  ', '\t')).map(([fields, sep]) => fields.join(sep)) },
);

const list = (min: number, max: number, signed = false) => fc.array(fc.integer({ min, max }).map((v) => (signed && v % 3 === 0 ? -v : v)), { minLength: 1, maxLength: 3 }).map((v) => v.join(','));
const nearRRulePart = fc.oneof(
  fc.constantFrom('INTERVAL=2', 'INTERVAL=3', 'COUNT=5', 'COUNT=0', 'UNTIL=20280601T000000Z', 'UNTIL=20270301T000000', 'WKST=SU', 'BYSETPOS=1', 'BYSETPOS=-1'),
  list(1, 12).map((v) => `BYMONTH=${v}`),
  list(1, 31, true).map((v) => `BYMONTHDAY=${v}`),
  list(1, 366, true).map((v) => `BYYEARDAY=${v}`),
  list(1, 53, true).map((v) => `BYWEEKNO=${v}`),
  list(0, 23).map((v) => `BYHOUR=${v}`),
  list(0, 59).map((v) => `BYMINUTE=${v}`),
  list(0, 59).map((v) => `BYSECOND=${v}`),
  fc.array(fc.tuple(fc.constantFrom('', '', '1', '-1', '2', '5'), fc.constantFrom('MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU')), { minLength: 1, maxLength: 3 }).map((d) => `BYDAY=${d.map(([n, w]) => n + w).join(',')}`),
);
const nearRRule = fc.tuple(
  fc.constantFrom('DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY', 'HOURLY', 'MINUTELY', 'SECONDLY'),
  fc.uniqueArray(nearRRulePart, { maxLength: 4, selector: (p) => p.slice(0, p.indexOf('=')) }),
).map(([freq, parts]) => [`FREQ=${freq}`, ...parts].join(';'));
const rrulePart = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('DAILY', 'WEEKLY', 'SOMETIMES', 'daily', '', 'HOURLY').map((f) => `FREQ=${f}`) },
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom('INTERVAL', 'COUNT', 'BYMONTH', 'BYMONTHDAY', 'BYYEARDAY', 'BYWEEKNO', 'BYHOUR', 'BYMINUTE', 'BYSECOND', 'BYSETPOS'), fc.array(int(-400, 400), { minLength: 1, maxLength: 3 })).map(([name, v]) => `${name}=${v.join(',')}`) },
  { weight: 2, arbitrary: fc.array(fc.tuple(fc.constantFrom('', '0', '54', '+2'), fc.constantFrom('MO', 'SU', 'XX')), { minLength: 1, maxLength: 3 }).map((d) => `BYDAY=${d.map(([n, w]) => n + w).join(',')}`) },
  { weight: 1, arbitrary: fc.constantFrom('UNTIL=20270230T000000Z', 'UNTIL=2027', 'WKST=XX', 'DTSTART=x', 'NOPE', 'RRULE:FREQ=DAILY') },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);
/**
 * A sub-daily rule whose INTERVAL keeps it off its BY parts searches ~0.4 s before it gives up:
 * bounded, but too slow for hundreds of runs, so sub-daily rules come without INTERVAL here.
 */
const rruleText = fc.oneof(
  { weight: 3, arbitrary: nearRRule },
  { weight: 1, arbitrary: fc.array(rrulePart, { minLength: 1, maxLength: 5 }).map((parts) => parts.join(';')) },
).filter((text) => !(/FREQ=(HOURLY|MINUTELY|SECONDLY)/.test(text) && text.includes('INTERVAL=')));

/** Values of any type, for any field. */
const junk = fc.oneof(
  fc.constantFrom(null, true, '', 'often', Number.NaN, Number.POSITIVE_INFINITY, -1, 0, 1.5, 2 ** 31, 2 ** 53, [], {}, '10 minutes', '1000'),
  fc.anything({ maxDepth: 1 }),
);
/** A valid-looking value most of the time, anything now and then. */
const mostly = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: junk });
const duration = mostly(fc.oneof(fc.constantFrom('1s', '15m', '1h', '90m', '1d', '30d', '6000w'), fc.integer({ min: -10, max: 10 * 86400_000 })));
const count = mostly(fc.integer({ min: 0, max: 30 }));
const leaf = fc.oneof(
  fc.record({ at: mostly(instant) }),
  fc.record({ in: duration }),
  fc.record({ every: duration, start: mostly(instant), end: mostly(instant), count }, { requiredKeys: ['every'] }),
  fc.record({ every: duration, minEvery: duration, maxEvery: duration, backoff: mostly(fc.double({ min: 0, max: 200 })) }, { requiredKeys: ['every', 'minEvery', 'maxEvery', 'backoff'] }),
  fc.record({ cron: mostly(fc.oneof(fc.constantFrom('0 9 * * *', '*/20 * * * *', '0 30 2 * * *', '0 0 13 * 5', '0 0 29 2 *', '30 * * * *'), cronText)), tz: fc.constantFrom(...ZONES), start: mostly(instant), end: mostly(instant), count }, { requiredKeys: ['cron'] }),
  fc.record({ rrule: mostly(fc.oneof(fc.constantFrom('FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9', 'FREQ=DAILY;BYHOUR=2;BYMINUTE=30', 'FREQ=MONTHLY;BYMONTHDAY=-1'), rruleText)), tz: fc.constantFrom(...ZONES), start: mostly(instant), count }, { requiredKeys: ['rrule'] }),
  fc.record({ ends: instant, timezone: fc.constant('UTC') }, { requiredKeys: [] }),
);
const schedule = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 6, arbitrary: leaf },
    { weight: 1, arbitrary: fc.record({ any: fc.array(tie('node'), { maxLength: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ all: fc.array(tie('node'), { maxLength: 3 }) }) },
    { weight: 1, arbitrary: junk },
  ),
})).node;

describe('schedule compilation is total and bounded', () => {
  it('compiles or refuses cron-like strings', () => {
    fc.assert(fc.property(cronText, fc.constantFrom(...ZONES), (cron, tz) => {
      const c = compileOrRefuse(tz === undefined ? { cron } : { cron, tz });
      if (c !== null) checkFireTimes(c, 5);
    }), { numRuns: 400 });
  });

  it('compiles or refuses rrule-like strings', () => {
    fc.assert(fc.property(rruleText, fc.constantFrom(...ZONES), fc.option(instant, { nil: undefined }), (rrule, tz, start) => {
      const c = compileOrRefuse({ rrule, ...(tz === undefined ? {} : { tz }), ...(start === undefined ? {} : { start }) });
      if (c !== null) checkFireTimes(c, 5);
    }), { numRuns: 300 });
  });

  it('compiles or refuses arbitrary objects and nested combinators', () => {
    fc.assert(fc.property(schedule, (input) => {
      const c = compileOrRefuse(input);
      if (c !== null) checkFireTimes(c, 5);
    }), { numRuns: 400 });
  });

  it('answers next(t) with null or an instant later than t, for any t', () => {
    const t = fc.oneof(
      fc.integer({ min: NOW - 400 * 86400_000, max: NOW + 400 * 86400_000 }),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, 0, -8.64e15, 8.64e15, 253402300799999),
      fc.double({ noNaN: true }),
    );
    fc.assert(fc.property(schedule, fc.array(t, { minLength: 1, maxLength: 4 }), (input, ts) => {
      const c = compileOrRefuse(input);
      if (c === null) return;
      for (const after of ts) {
        const next = c.trigger.next(after);
        if (next !== null) expect(next).toBeGreaterThan(after);
      }
    }), { numRuns: 300 });
  });
});
