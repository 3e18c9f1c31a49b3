import { describe, expect, it } from 'vitest';
import { compileSchedule } from '../../src/schedule/index.js';
import { errorOf } from '../helpers/errors.js';
import { firesAfter, firesOf, isos, ms } from './fire-times.js';

/**
 * RRULE schedules in zones, at fixed instants. The expansion itself is checked against the rrule
 * package in rrule-oracle.test.ts; these pin the zone rules (RFC 5545 §3.3.5: a wall time in a
 * gap takes the offset from before the gap; a repeated one its first occurrence), the start and
 * its defaults, COUNT and UNTIL. Transition instants as in cron.test.ts.
 */

const NOW = ms('2027-01-01T00:00Z');

interface Row {
  name: string;
  schedule: Record<string, unknown>;
  after?: string;
  fires: string[];
  /** The rule ends after these fires (COUNT, count or UNTIL): asking for one more gets none. */
  ends?: true;
}

const ROWS: Row[] = [
  { name: 'weekly on named days at a named hour, in winter', schedule: { rrule: 'FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9', tz: 'Europe/Paris' }, fires: ['2027-01-04T08:00Z', '2027-01-06T08:00Z', '2027-01-11T08:00Z'] },
  { name: 'the same rule keeps its wall time in summer', schedule: { rrule: 'FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9', tz: 'Europe/Paris' }, after: '2027-04-01T00:00Z', fires: ['2027-04-05T07:00Z', '2027-04-07T07:00Z'] },
  { name: "the start's wall time is the rule's time of day, across a change of offset", schedule: { rrule: 'FREQ=DAILY', tz: 'Europe/Paris', start: '2027-01-01T08:00Z' }, after: '2027-03-27T00:00Z', fires: ['2027-03-27T08:00Z', '2027-03-28T07:00Z'] },
  { name: "02:30 in New York's gap takes the offset before it (03:30 EDT)", schedule: { rrule: 'FREQ=DAILY;BYHOUR=2;BYMINUTE=30', tz: 'America/New_York', start: '2027-03-12T00:00Z' }, fires: ['2027-03-12T07:30Z', '2027-03-13T07:30Z', '2027-03-14T07:30Z', '2027-03-15T06:30Z'] },
  { name: 'gap times that land on later wall times fire once each, in instant order', schedule: { rrule: 'FREQ=DAILY;BYHOUR=2,3;BYMINUTE=0,30', tz: 'America/New_York', start: '2027-03-14T05:00Z' }, fires: ['2027-03-14T07:00Z', '2027-03-14T07:30Z', '2027-03-15T06:00Z', '2027-03-15T06:30Z'] },
  { name: "01:30 in New York's repeated hour fires once, on the first pass", schedule: { rrule: 'FREQ=DAILY;BYHOUR=1;BYMINUTE=30', tz: 'America/New_York', start: '2027-11-06T00:00Z' }, fires: ['2027-11-06T05:30Z', '2027-11-07T05:30Z', '2027-11-08T06:30Z'] },
  { name: "02:15 in Lord Howe's half-hour gap takes the offset before it (02:45 +11)", schedule: { rrule: 'FREQ=DAILY;BYHOUR=2;BYMINUTE=15', tz: 'Australia/Lord_Howe', start: '2027-10-01T00:00Z' }, fires: ['2027-10-01T15:45Z', '2027-10-02T15:45Z', '2027-10-03T15:15Z'] },
  { name: 'COUNT in the rule', schedule: { rrule: 'FREQ=DAILY;COUNT=3', start: '2027-01-01T09:00Z' }, fires: ['2027-01-01T09:00Z', '2027-01-02T09:00Z', '2027-01-03T09:00Z'], ends: true },
  { name: 'count beside the rule', schedule: { rrule: 'FREQ=DAILY', start: '2027-01-01T09:00Z', count: 2 }, fires: ['2027-01-01T09:00Z', '2027-01-02T09:00Z'], ends: true },
  { name: 'UNTIL in UTC is inclusive', schedule: { rrule: 'FREQ=DAILY;UNTIL=20270103T090000Z', start: '2027-01-01T09:00Z' }, fires: ['2027-01-01T09:00Z', '2027-01-02T09:00Z', '2027-01-03T09:00Z'], ends: true },
  { name: 'UNTIL without Z is a wall time in the zone', schedule: { rrule: 'FREQ=DAILY;UNTIL=20270103T090000', tz: 'Europe/Paris', start: '2027-01-01T08:00Z' }, fires: ['2027-01-01T08:00Z', '2027-01-02T08:00Z', '2027-01-03T08:00Z'], ends: true },
  { name: '29 February comes only in leap years', schedule: { rrule: 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29', start: '2027-01-01T00:00Z' }, fires: ['2028-02-29T00:00Z', '2032-02-29T00:00Z'] },
  { name: 'the 31st is skipped in short months', schedule: { rrule: 'FREQ=MONTHLY;BYMONTHDAY=31', start: '2027-01-01T00:00Z' }, fires: ['2027-01-31T00:00Z', '2027-03-31T00:00Z', '2027-05-31T00:00Z', '2027-07-31T00:00Z', '2027-08-31T00:00Z'] },
  { name: 'a monthly rule started on the 31st skips short months too', schedule: { rrule: 'FREQ=MONTHLY', start: '2027-01-31T09:00Z' }, fires: ['2027-01-31T09:00Z', '2027-03-31T09:00Z', '2027-05-31T09:00Z'] },
  { name: 'BYMONTHDAY=-1 is the last day of each month', schedule: { rrule: 'FREQ=MONTHLY;BYMONTHDAY=-1', start: '2027-01-01T00:00Z' }, fires: ['2027-01-31T00:00Z', '2027-02-28T00:00Z', '2027-03-31T00:00Z'] },
  { name: 'a week across New Year is one week whatever its name: week -52 of 2032 (WKST=WE) starts on 31 December 2031', schedule: { rrule: 'FREQ=YEARLY;WKST=WE;BYWEEKNO=-52', start: '2031-12-01T00:00Z' }, fires: ['2031-12-31T00:00Z', '2032-01-01T00:00Z', '2032-01-02T00:00Z', '2032-01-03T00:00Z', '2032-01-04T00:00Z', '2032-01-05T00:00Z', '2032-01-06T00:00Z', '2033-01-05T00:00Z'] },
  { name: 'the same week named 1; week 1 of 2033 starts on 29 December 2032', schedule: { rrule: 'FREQ=YEARLY;WKST=WE;BYWEEKNO=1', start: '2031-12-01T00:00Z' }, fires: ['2031-12-31T00:00Z', '2032-01-01T00:00Z', '2032-01-02T00:00Z', '2032-01-03T00:00Z', '2032-01-04T00:00Z', '2032-01-05T00:00Z', '2032-01-06T00:00Z', '2032-12-29T00:00Z'] },
  { name: 'week 53 of 2033 (WKST=WE) runs into January 2034', schedule: { rrule: 'FREQ=YEARLY;WKST=WE;BYWEEKNO=53', start: '2031-12-01T00:00Z' }, fires: ['2033-12-28T00:00Z', '2033-12-29T00:00Z', '2033-12-30T00:00Z', '2033-12-31T00:00Z', '2034-01-01T00:00Z', '2034-01-02T00:00Z', '2034-01-03T00:00Z', '2039-12-28T00:00Z'] },
  { name: 'every other Tuesday', schedule: { rrule: 'FREQ=WEEKLY;INTERVAL=2;BYDAY=TU', start: '2027-01-04T09:00Z' }, fires: ['2027-01-05T09:00Z', '2027-01-19T09:00Z', '2027-02-02T09:00Z'] },
  { name: 'the last weekday of the month (BYSETPOS=-1)', schedule: { rrule: 'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1', start: '2027-01-01T17:00Z' }, fires: ['2027-01-29T17:00Z', '2027-02-26T17:00Z', '2027-03-31T17:00Z'] },
  { name: 'an RRULE: prefix is accepted', schedule: { rrule: 'RRULE:FREQ=DAILY;BYHOUR=6', start: '2027-01-01T00:00Z' }, fires: ['2027-01-01T06:00Z', '2027-01-02T06:00Z'] },
];

describe('rrule fire times', () => {
  it.each(ROWS)('$name', ({ schedule, after, fires, ends }) => {
    const { trigger } = compileSchedule(schedule, NOW);
    expect(firesAfter(trigger, after === undefined ? NOW - 1 : ms(after), fires.length + (ends ? 1 : 0))).toEqual(isos(fires));
  });
});

describe('rrule start', () => {
  it('defaults to the submit time, with the time-of-day parts the rule leaves out at 0', () => {
    const now = ms('2027-01-01T10:23:45.678Z');
    const c = compileSchedule({ rrule: 'FREQ=DAILY;BYHOUR=9' }, now);
    expect(c.spec).toEqual({ rrule: 'FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0', tz: 'UTC', start: '2027-01-01T10:23:45.678Z' });
    expect(firesOf({ rrule: 'FREQ=DAILY;BYHOUR=9' }, now, 2)).toEqual(isos(['2027-01-02T09:00Z', '2027-01-03T09:00Z']));
    expect(firesOf({ rrule: 'FREQ=HOURLY' }, now, 2)).toEqual(isos(['2027-01-01T11:00Z', '2027-01-01T12:00Z']));
  });

  it('counts COUNT from a past start: a used-up rule is refused at submit', () => {
    const inRule = errorOf(() => compileSchedule({ rrule: 'FREQ=DAILY;COUNT=3', start: '2026-12-01T00:00Z' }, NOW));
    expect(inRule).toMatchObject({ code: 'INVALID_SCHEDULE', details: { field: 'schedule.rrule' } });
    const beside = errorOf(() => compileSchedule({ rrule: 'FREQ=DAILY', start: '2026-12-01T00:00Z', count: 3 }, NOW));
    expect(beside).toMatchObject({ code: 'INVALID_SCHEDULE', details: { field: 'schedule.count' } });
  });

  it('begins a start with milliseconds at the next whole second, so that COUNT fires in full', () => {
    const now = ms('2027-01-01T10:23:45.678Z');
    expect(firesOf({ rrule: 'FREQ=SECONDLY;COUNT=3' }, now, 4)).toEqual(isos(['2027-01-01T10:23:46Z', '2027-01-01T10:23:47Z', '2027-01-01T10:23:48Z']));
    expect(firesOf({ rrule: 'FREQ=DAILY', start: '2027-01-01T09:00:00.500Z', count: 3 }, NOW, 4)).toEqual(isos(['2027-01-01T09:00:01Z', '2027-01-02T09:00:01Z', '2027-01-03T09:00:01Z']));
  });

  it('fires the rest of a count that a past start has partly used', () => {
    expect(firesOf({ rrule: 'FREQ=DAILY;BYHOUR=9', start: '2026-12-30T00:00Z', count: 4 }, NOW, 5)).toEqual(isos(['2027-01-01T09:00Z', '2027-01-02T09:00Z']));
  });
});
