import { describe, expect, it } from 'vitest';
import { compileSchedule } from '../../src/schedule/index.js';
import { firesAfter, firesOf, isos, ms } from './fire-times.js';

/**
 * Cron fire times at fixed instants, written out by hand from SPEC §4. The transition instants
 * used below were read from Intl (Node's tz database):
 * - America/New_York: 2027-03-14T07:00Z (02:00 EST → 03:00 EDT), 2027-11-07T06:00Z (02:00 EDT → 01:00 EST);
 * - Europe/Paris: 2027-03-28T01:00Z (02:00 CET → 03:00 CEST), 2027-10-31T01:00Z (03:00 CEST → 02:00 CET);
 * - Australia/Lord_Howe (a 30-minute shift): 2027-04-03T15:00Z (02:00 +11 → 01:30 +10:30),
 *   2027-10-02T15:30Z (02:00 +10:30 → 02:30 +11).
 */

const NY = 'America/New_York';
const PARIS = 'Europe/Paris';
const LORD_HOWE = 'Australia/Lord_Howe';

interface Row {
  name: string;
  cron: string;
  tz?: string;
  after: string;
  fires: string[];
}

function firesFor(row: Row): string[] {
  const { trigger } = compileSchedule(row.tz === undefined ? { cron: row.cron } : { cron: row.cron, tz: row.tz }, ms(row.after));
  return firesAfter(trigger, ms(row.after), row.fires.length);
}

const DST: Row[] = [
  // New York, spring forward: wall 02:00–02:59 does not exist on 2027-03-14.
  { name: "a daily 02:30 fires at 03:00 EDT, the first instant after New York's gap", cron: '0 30 2 * * *', tz: NY, after: '2027-03-13T12:00Z', fires: ['2027-03-14T07:00Z', '2027-03-15T06:30Z', '2027-03-16T06:30Z'] },
  { name: 'several matches inside one gap fire once, at its end', cron: '*/15 2 * * *', tz: NY, after: '2027-03-13T12:00Z', fires: ['2027-03-14T07:00Z', '2027-03-15T06:00Z', '2027-03-15T06:15Z'] },
  { name: 'a match in the gap and the first wall time after it share an instant and fire once', cron: '0 2,3 * * *', tz: NY, after: '2027-03-13T12:00Z', fires: ['2027-03-14T07:00Z', '2027-03-15T06:00Z', '2027-03-15T07:00Z'] },
  { name: 'hourly `*` skips the missing hour and fires once after it', cron: '30 * * * *', tz: NY, after: '2027-03-14T05:00Z', fires: ['2027-03-14T05:30Z', '2027-03-14T06:30Z', '2027-03-14T07:00Z', '2027-03-14T07:30Z'] },
  // New York, fall back: wall 01:00–01:59 happens twice on 2027-11-07.
  { name: "named hours fire once in New York's repeated hour, on the first pass", cron: '0 0,30 1 * * *', tz: NY, after: '2027-11-06T12:00Z', fires: ['2027-11-07T05:00Z', '2027-11-07T05:30Z', '2027-11-08T06:00Z'] },
  { name: 'a named hour is not fired again from inside its second pass', cron: '0 0,30 1 * * *', tz: NY, after: '2027-11-07T06:10Z', fires: ['2027-11-08T06:00Z'] },
  { name: '`*` hours follow real time through both passes of the repeated hour', cron: '30 * * * *', tz: NY, after: '2027-11-07T04:00Z', fires: ['2027-11-07T04:30Z', '2027-11-07T05:30Z', '2027-11-07T06:30Z', '2027-11-07T07:30Z'] },
  { name: '`*/n` hours follow real time too', cron: '0 */1 * * *', tz: NY, after: '2027-11-07T04:30Z', fires: ['2027-11-07T05:00Z', '2027-11-07T06:00Z', '2027-11-07T07:00Z'] },
  { name: 'a `?` hour is a `*` hour: it follows real time through both passes', cron: '30 ? * * *', tz: NY, after: '2027-11-07T04:00Z', fires: ['2027-11-07T04:30Z', '2027-11-07T05:30Z', '2027-11-07T06:30Z', '2027-11-07T07:30Z'] },
  { name: 'a `*` hour picks up in the second pass when asked from inside it', cron: '45 * * * *', tz: NY, after: '2027-11-07T06:10Z', fires: ['2027-11-07T06:45Z', '2027-11-07T07:45Z'] },
  // Paris.
  { name: "a daily 02:30 fires at 03:00 CEST on Paris's spring-forward day", cron: '30 2 * * *', tz: PARIS, after: '2027-03-26T12:00Z', fires: ['2027-03-27T01:30Z', '2027-03-28T01:00Z', '2027-03-29T00:30Z'] },
  { name: "a daily 02:30 fires once on Paris's fall-back day, in CEST", cron: '30 2 * * *', tz: PARIS, after: '2027-10-30T12:00Z', fires: ['2027-10-31T00:30Z', '2027-11-01T01:30Z'] },
  { name: 'every 30 minutes fires in both passes of Paris\'s repeated hour', cron: '*/30 * * * *', tz: PARIS, after: '2027-10-30T23:45Z', fires: ['2027-10-31T00:00Z', '2027-10-31T00:30Z', '2027-10-31T01:00Z', '2027-10-31T01:30Z', '2027-10-31T02:00Z'] },
  // Lord Howe: 30-minute shifts.
  { name: "a daily 02:15 fires once on Lord Howe's spring-forward day, at 02:30 +11", cron: '0 15 2 * * *', tz: LORD_HOWE, after: '2027-10-01T00:00Z', fires: ['2027-10-01T15:45Z', '2027-10-02T15:30Z', '2027-10-03T15:15Z'] },
  { name: "matches inside Lord Howe's half-hour gap fire once, the one after it at its time", cron: '0 0,20,40 2 * * *', tz: LORD_HOWE, after: '2027-10-02T12:00Z', fires: ['2027-10-02T15:30Z', '2027-10-02T15:40Z', '2027-10-03T15:00Z'] },
  { name: "a daily 01:00 on Lord Howe's fall-back day fires once (just before the repeated half hour)", cron: '0 0 1 * * *', tz: LORD_HOWE, after: '2027-04-02T00:00Z', fires: ['2027-04-02T14:00Z', '2027-04-03T14:00Z', '2027-04-04T14:30Z'] },
  { name: "a named 01:45 fires once in Lord Howe's repeated half hour, at +11", cron: '0 45 1 * * *', tz: LORD_HOWE, after: '2027-04-03T00:00Z', fires: ['2027-04-03T14:45Z', '2027-04-04T15:15Z'] },
  { name: "every 15 minutes fires in both passes of Lord Howe's repeated half hour", cron: '0 */15 * * * *', tz: LORD_HOWE, after: '2027-04-03T14:20Z', fires: ['2027-04-03T14:30Z', '2027-04-03T14:45Z', '2027-04-03T15:00Z', '2027-04-03T15:15Z', '2027-04-03T15:30Z'] },
];

const CALENDAR: Row[] = [
  { name: '29 February fires only in leap years', cron: '0 0 29 2 *', after: '2027-01-01T00:00Z', fires: ['2028-02-29T00:00Z', '2032-02-29T00:00Z', '2036-02-29T00:00Z'] },
  { name: '29 February skips 2100, which is not a leap year', cron: '0 0 29 2 *', after: '2097-03-01T00:00Z', fires: ['2104-02-29T00:00Z'] },
  { name: 'the 31st is skipped in months without one, not moved', cron: '0 0 31 * *', after: '2027-01-01T00:00Z', fires: ['2027-01-31T00:00Z', '2027-03-31T00:00Z', '2027-05-31T00:00Z', '2027-07-31T00:00Z', '2027-08-31T00:00Z', '2027-10-31T00:00Z', '2027-12-31T00:00Z'] },
  { name: 'the 30th is skipped in February', cron: '0 12 30 * *', after: '2027-01-01T00:00Z', fires: ['2027-01-30T12:00Z', '2027-03-30T12:00Z'] },
  { name: '`L` is the last day of each month, leap day included', cron: '0 0 L * *', after: '2028-01-01T00:00Z', fires: ['2028-01-31T00:00Z', '2028-02-29T00:00Z', '2028-03-31T00:00Z', '2028-04-30T00:00Z'] },
  { name: 'six fields put seconds first', cron: '*/20 * * * * *', after: '2027-01-01T12:00:00Z', fires: ['2027-01-01T12:00:20Z', '2027-01-01T12:00:40Z', '2027-01-01T12:01:00Z'] },
  { name: 'a fractional `after` still gets the next whole-second match', cron: '*/20 * * * * *', after: '2027-01-01T12:00:20.500Z', fires: ['2027-01-01T12:00:40Z'] },
  { name: 'six fields with a weekday range (2027-01-01 is a Friday)', cron: '15 30 9 * * 1-5', after: '2027-01-01T00:00Z', fires: ['2027-01-01T09:30:15Z', '2027-01-04T09:30:15Z', '2027-01-05T09:30:15Z'] },
  { name: 'a restricted day of month and day of week match either, as in Vixie cron', cron: '0 0 13 * 5', after: '2027-08-01T00:00Z', fires: ['2027-08-06T00:00Z', '2027-08-13T00:00Z', '2027-08-20T00:00Z', '2027-08-27T00:00Z', '2027-09-03T00:00Z'] },
  { name: '`n#k` is the k-th weekday n of the month', cron: '0 9 * * 1#1', after: '2027-01-01T00:00Z', fires: ['2027-01-04T09:00Z', '2027-02-01T09:00Z', '2027-03-01T09:00Z'] },
  { name: '`nL` is the last weekday n of the month', cron: '0 9 * * 5L', after: '2027-01-01T00:00Z', fires: ['2027-01-29T09:00Z', '2027-02-26T09:00Z', '2027-03-26T09:00Z'] },
  { name: 'month and weekday names, any case', cron: '0 9 * jan-FEB Mon', after: '2027-01-30T00:00Z', fires: ['2027-02-01T09:00Z', '2027-02-08T09:00Z', '2027-02-15T09:00Z', '2027-02-22T09:00Z', '2028-01-03T09:00Z'] },
  { name: '7 is Sunday as well as 0', cron: '0 9 * * 7', after: '2027-01-01T00:00Z', fires: ['2027-01-03T09:00Z', '2027-01-10T09:00Z'] },
  { name: '@daily is midnight', cron: '@daily', after: '2027-01-01T00:00Z', fires: ['2027-01-02T00:00Z', '2027-01-03T00:00Z'] },
  // Accepted since cron-parser 5 reads the fields (our earlier parser refused them).
  { name: "cron-parser's @weekdays, any case", cron: '@WEEKDAYS', after: '2027-01-01T00:00Z', fires: ['2027-01-04T00:00Z', '2027-01-05T00:00Z'] },
  { name: '`?` is `*` in any field, as cron-parser reads it', cron: '0 ? * * *', after: '2027-01-01T00:30Z', fires: ['2027-01-01T01:00Z', '2027-01-01T02:00Z'] },
  { name: 'leading zeros are read as numbers', cron: '007 09 * * *', after: '2027-01-01T00:00Z', fires: ['2027-01-01T09:07Z', '2027-01-02T09:07Z'] },
  { name: 'a zone with a 45-minute offset', cron: '0 9 * * *', tz: 'Asia/Kathmandu', after: '2027-01-01T00:00Z', fires: ['2027-01-01T03:15Z', '2027-01-02T03:15Z'] },
];

describe('B3: cron across daylight-saving transitions (SPEC §4): gap and overlap fire once, at fixed instants', () => {
  it.each(DST)('$name: $cron in $tz', (row) => {
    expect(firesFor(row)).toEqual(isos(row.fires));
  });

  it('fires at the transition instant when asked from just before it, and moves on when asked from it', () => {
    const { trigger } = compileSchedule({ cron: '0 30 2 * * *', tz: NY }, ms('2027-03-01T00:00Z'));
    expect(firesAfter(trigger, ms('2027-03-14T07:00Z') - 1, 1)).toEqual(isos(['2027-03-14T07:00Z']));
    expect(firesAfter(trigger, ms('2027-03-14T07:00Z'), 1)).toEqual(isos(['2027-03-15T06:30Z']));
  });
});

describe('cron calendar rules', () => {
  it.each(CALENDAR)('$name: $cron', (row) => {
    expect(firesFor(row)).toEqual(isos(row.fires));
  });

  it('stores the zone under its canonical name and the expression trimmed', () => {
    expect(compileSchedule({ cron: ' 0 9 * * * ', tz: 'utc' }, ms('2027-01-01T00:00Z')).spec).toEqual({ cron: '0 9 * * *', tz: 'UTC' });
  });
});

describe('cron with start, end and count', () => {
  const NOW = ms('2027-01-01T00:00Z');

  it('waits for start', () => {
    expect(firesOf({ cron: '0 9 * * *', start: '2027-02-01T00:00Z' }, NOW, 2)).toEqual(isos(['2027-02-01T09:00Z', '2027-02-02T09:00Z']));
  });

  it('fires at an end that matches, and not after it', () => {
    expect(firesOf({ cron: '0 9 * * *', end: '2027-01-03T09:00Z' }, NOW, 10)).toEqual(isos(['2027-01-01T09:00Z', '2027-01-02T09:00Z', '2027-01-03T09:00Z']));
  });

  it('stops after count fire times from start', () => {
    expect(firesOf({ cron: '0 9 * * *', start: '2027-02-01T00:00Z', count: 3 }, NOW, 10)).toEqual(isos(['2027-02-01T09:00Z', '2027-02-02T09:00Z', '2027-02-03T09:00Z']));
  });

  it('counts from the submit time when count comes without start, and stores that start', () => {
    const c = compileSchedule({ cron: '0 9 * * *', count: 2 }, ms('2027-01-01T10:00Z'));
    expect(c.spec).toEqual({ cron: '0 9 * * *', tz: 'UTC', start: '2027-01-01T10:00:00.000Z', count: 2 });
    expect(firesAfter(c.trigger, c.first - 1, 10)).toEqual(isos(['2027-01-02T09:00Z', '2027-01-03T09:00Z']));
  });

  it('counts fire times before the submit time from a past start', () => {
    // 30 and 31 December have passed; two of the four remain.
    expect(firesOf({ cron: '0 9 * * *', start: '2026-12-30T00:00Z', count: 4 }, NOW, 10)).toEqual(isos(['2027-01-01T09:00Z', '2027-01-02T09:00Z']));
  });

  it('counts both passes of a repeated hour for a `*` hour', () => {
    const fires = firesOf({ cron: '30 * * * *', tz: NY, start: '2027-11-07T05:00Z', count: 3 }, ms('2027-11-01T00:00Z'), 10);
    expect(fires).toEqual(isos(['2027-11-07T05:30Z', '2027-11-07T06:30Z', '2027-11-07T07:30Z']));
  });

  it('answers the same count when asked out of order', () => {
    const { trigger } = compileSchedule({ cron: '0 9 * * *', start: '2027-02-01T00:00Z', count: 3 }, NOW);
    expect(trigger.next(ms('2027-02-02T12:00Z'))).toBe(ms('2027-02-03T09:00Z'));
    expect(trigger.next(ms('2027-02-01T00:00Z'))).toBe(ms('2027-02-01T09:00Z'));
    expect(trigger.next(ms('2027-02-03T09:00Z'))).toBeNull();
    expect(trigger.next(ms('2027-02-01T09:00Z'))).toBe(ms('2027-02-02T09:00Z'));
  });
});
