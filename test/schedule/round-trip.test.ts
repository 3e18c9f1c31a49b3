import { describe, expect, it } from 'vitest';
import { compileSchedule, restoreSchedule } from '../../src/schedule/index.js';
import { firesAfter, ms } from './fire-times.js';

/**
 * A stored schedule (compileSchedule's `spec`, through JSON as the store keeps it) restores to
 * the same fire times, and compiling it again changes nothing: the restart path sees exactly the
 * schedule that was submitted.
 */

const NOW = ms('2027-03-10T10:23:45.678Z');

const SCHEDULES: [string, unknown][] = [
  ['no schedule', undefined],
  ['at', { at: '2027-06-01T09:00:00+02:00' }],
  ['in', { in: '90m' }],
  ['every', { every: '15m' }],
  ['every with ms, start, end and count', { every: 90_000, start: '2027-03-10T00:00:00Z', end: '2027-03-11T00:00:00Z', count: 500 }],
  ['adaptive every', { every: '10m', minEvery: '1m', maxEvery: '1h', backoff: 1.5 }],
  ['cron in New York across the spring gap', { cron: '0 30 2 * * *', tz: 'America/New_York' }],
  ['cron with a count from the submit time', { cron: '*/20 * * * *', tz: 'Europe/Paris', count: 30 }],
  ['cron with start and end', { cron: '0 9 * * 1-5', start: '2027-03-01T00:00:00Z', end: '2027-12-31T00:00:00Z' }],
  ['cron on Lord Howe', { cron: '0 */15 1,2 * * *', tz: 'Australia/Lord_Howe' }],
  ['rrule without a start', { rrule: 'FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9', tz: 'Europe/Paris' }],
  ['rrule with a start and a count', { rrule: 'RRULE:freq=daily;byhour=2;byminute=30', tz: 'America/New_York', start: '2027-03-01T00:00:00Z', count: 20 }],
  ['rrule with UNTIL', { rrule: 'FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20281231T000000', tz: 'Asia/Kathmandu' }],
  ['any', { any: [{ cron: '0 9 * * *' }, { every: '7h' }, { in: '1d' }] }],
  ['all', { all: [{ cron: '0 0 13 * *' }, { cron: '0 0 * * 5' }] }],
  ['nested any in all', { all: [{ any: [{ cron: '0 9 * * *' }, { cron: '0 17 * * *' }] }, { cron: '0 * * * 1' }] }],
];

describe('a stored schedule round trip', () => {
  it.each(SCHEDULES)('%s restores to the same fire times', (_name, schedule) => {
    const compiled = compileSchedule(schedule, NOW);
    const stored = JSON.parse(JSON.stringify(compiled.spec)) as unknown;
    const restored = restoreSchedule(stored);
    expect(restored.recurring).toBe(compiled.recurring);
    expect(restored.adaptive).toEqual(compiled.adaptive);
    // Fresh triggers on both sides: neither has a counting cursor from the other's questions.
    const original = compileSchedule(schedule, NOW).trigger;
    expect(firesAfter(restored.trigger, NOW - 1, 40)).toEqual(firesAfter(original, NOW - 1, 40));
    // Asked from far ahead too, where a count must be counted from the stored start.
    const later = NOW + 200 * 86400_000;
    expect(firesAfter(restoreSchedule(stored).trigger, later, 5)).toEqual(firesAfter(compileSchedule(schedule, NOW).trigger, later, 5));
  });

  it.each(SCHEDULES)('%s compiles again to the same stored form', (_name, schedule) => {
    const { spec } = compileSchedule(schedule, NOW);
    expect(compileSchedule(JSON.parse(JSON.stringify(spec)), NOW).spec).toEqual(spec);
  });
});
