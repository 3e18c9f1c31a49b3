import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCron } from '../../src/schedule/cron-expression.js';
import { restoreSchedule } from '../../src/schedule/index.js';
import { type Timeline, expectedFires, offsetChanges, timeline } from './brute-cron.js';

/**
 * The cron trigger against the brute-force oracle (brute-cron.ts), around every offset change of
 * 2026–2028 in zones with whole-hour, half-hour and 45-minute offsets and shifts, and around the
 * midnight shifts São Paulo used until 2019.
 */

const H = 3600_000;
const ZONES: [string, number, number][] = [
  ['America/New_York', Date.UTC(2026, 0), Date.UTC(2029, 0)],
  ['Europe/Paris', Date.UTC(2026, 0), Date.UTC(2029, 0)],
  ['Europe/London', Date.UTC(2026, 0), Date.UTC(2029, 0)],
  ['Australia/Lord_Howe', Date.UTC(2026, 0), Date.UTC(2029, 0)],
  ['Pacific/Chatham', Date.UTC(2026, 0), Date.UTC(2029, 0)],
  ['America/Santiago', Date.UTC(2026, 0), Date.UTC(2027, 0)],
  ['Antarctica/Troll', Date.UTC(2026, 0), Date.UTC(2027, 0)],
  ['America/Sao_Paulo', Date.UTC(2017, 6), Date.UTC(2019, 6)],
  // No transitions: one ordinary window each.
  ['Asia/Kathmandu', Date.UTC(2026, 0), Date.UTC(2026, 0)],
  ['UTC', Date.UTC(2026, 0), Date.UTC(2026, 0)],
];

const windows = new Map<string, Timeline[]>();
/** Minute timelines, 30 h either side of each offset change (or of the range start when there is none). */
function minuteWindows(tz: string, from: number, to: number): Timeline[] {
  let tls = windows.get(tz);
  if (tls === undefined) {
    const changes = offsetChanges(tz, from, to);
    tls = (changes.length > 0 ? changes : [from + 30 * 24 * H]).map((t) => timeline(tz, t - 30 * H, t + 30 * H, 60_000));
    windows.set(tz, tls);
  }
  return tls;
}

function actualFires(cron: string, tl: Timeline): number[] {
  const { trigger } = restoreSchedule({ cron, tz: tl.tz });
  const out: number[] = [];
  for (let t = trigger.next(tl.from - 1); t !== null && t <= tl.to; t = trigger.next(t)) out.push(t);
  return out;
}

function check(cron: string, tl: Timeline): void {
  const iso = (ts: number[]) => ts.map((t) => new Date(t).toISOString());
  expect(iso(actualFires(cron, tl)), `${cron} in ${tl.tz} around ${new Date(tl.from + 30 * H).toISOString()}`).toEqual(iso(expectedFires(parseCron(cron), tl)));
}

const EXPRESSIONS = [
  '* * * * *', '*/15 * * * *', '30 * * * *', '0 * * * *', '0 */2 * * *', '15 */3 * * *', '*/20 1-3 * * *',
  '0 0 * * *', '30 0 * * *', '0 1 * * *', '30 1 * * *', '45 1 * * *', '59 1 * * *', '0 2 * * *', '30 2 * * *',
  '45 2 * * *', '0,15,30,45 2 * * *', '*/5 2 * * *', '0 3 * * *', '45 3 * * *', '0 0-3 * * *', '*/15 0-4 * * *',
  '30 23 * * *', '0 12 * * *', '5 0-23 * * *', '0 2 * * 0', '0 0 L * *', '0 1 * * 0#1', '0 1 1-7 * 0',
];

describe('cron trigger against the brute-force oracle', () => {
  for (const [tz, from, to] of ZONES) {
    it(`matches the oracle for ${EXPRESSIONS.length} expressions around every offset change in ${tz}`, () => {
      for (const tl of minuteWindows(tz, from, to)) for (const cron of EXPRESSIONS) check(cron, tl);
    });
  }

  it('matches the oracle second by second for 6-field expressions across transitions', () => {
    const sixField = ['*/20 * 2 * * *', '30 30 2 * * *', '0 0,30 1 * * *', '*/30 * * * * *', '15 45 1 * * *', '0 * 1 * * *', '*/10 */2 * * * *'];
    for (const [tz, from, to] of ZONES.slice(0, 5)) {
      for (const change of offsetChanges(tz, from, to).slice(0, 2)) {
        const tl = timeline(tz, change - 1.5 * H, change + 1.5 * H, 1000);
        for (const cron of sixField) check(cron, tl);
      }
    }
  });

  it('matches the oracle for generated expressions in random zones and windows', () => {
    const values = (min: number, max: number) => fc.uniqueArray(fc.integer({ min, max }), { minLength: 1, maxLength: 4 }).map((v) => v.join(','));
    const field = (min: number, max: number, hot: fc.Arbitrary<string>) => fc.oneof(
      fc.constant('*'),
      fc.integer({ min: 1, max: Math.min(30, max) }).map((n) => `*/${n}`),
      hot,
      values(min, max),
      fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
      fc.tuple(fc.integer({ min, max }), fc.integer({ min: 1, max: 20 })).map(([a, s]) => `${a}/${s}`),
    );
    const expression = fc.tuple(
      field(0, 59, fc.constantFrom('0', '15', '30', '45', '0,30', '*/15')),
      field(0, 23, fc.constantFrom('0', '1', '2', '3', '0-3', '1,2')),
      fc.oneof({ weight: 4, arbitrary: fc.constant('*') }, { weight: 1, arbitrary: field(1, 31, fc.constantFrom('L', '1', '31')) }),
      fc.constant('*'),
      fc.oneof({ weight: 4, arbitrary: fc.constant('*') }, { weight: 1, arbitrary: field(0, 6, fc.constantFrom('0', '1-5', '0#1', '5L')) }),
    ).map((f) => f.join(' '));
    const zone = fc.constantFrom(...ZONES);
    fc.assert(fc.property(expression, zone, fc.nat(), (cron, [tz, from, to], pick) => {
      const tls = minuteWindows(tz, from, to);
      check(cron, tls[pick % tls.length]!);
    }), { numRuns: 300 });
  });
});
