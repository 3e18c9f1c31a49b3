import { describe, expect, it } from 'vitest';
import { compileSchedule, restoreSchedule } from '../../src/schedule/index.js';
import { errorOf } from '../helpers/errors.js';
import { ms } from './fire-times.js';

/**
 * Schedules refused at submit (SPEC §4): INVALID_SCHEDULE, naming the field at fault in
 * `details.field` and in the message, which goes on to say why.
 */

const NOW = ms('2027-01-01T00:00Z');

const REFUSED: [string, unknown, string][] = [
  // Not a schedule at all.
  ['null', null, 'schedule'],
  ['a string', 'every 15 minutes', 'schedule'],
  ['an array', [{ every: '1h' }], 'schedule'],
  ['a number', 42, 'schedule'],
  ['an object of another class', new Date(NOW), 'schedule'],
  ['no form', {}, 'schedule'],
  ['only bounds', { start: '2027-01-01T00:00Z', count: 3 }, 'schedule'],
  ['two forms', { at: '2027-02-01T00:00Z', every: '1h' }, 'schedule'],
  // Unknown fields: a typo is not silently ignored.
  ['`ends` on every', { every: '1h', ends: '2027-02-01T00:00Z' }, 'schedule.ends'],
  ['`timezone` on cron', { cron: '0 9 * * *', timezone: 'Europe/Paris' }, 'schedule.timezone'],
  ['`tz` on at', { at: '2027-02-01T00:00Z', tz: 'UTC' }, 'schedule.tz'],
  ['`start` on in', { in: '1m', start: '2027-02-01T00:00Z' }, 'schedule.start'],
  ['`end` on rrule', { rrule: 'FREQ=DAILY', end: '2027-02-01T00:00Z' }, 'schedule.end'],
  ['`tz` on every', { every: '1h', tz: 'UTC' }, 'schedule.tz'],
  ['`count` on any', { any: [{ every: '1h' }], count: 2 }, 'schedule.count'],
  // cron.
  ['minute 61', { cron: '61 * * * *' }, 'schedule.cron'],
  ['step 0', { cron: '*/0 * * * *' }, 'schedule.cron'],
  ['31 February (never)', { cron: '0 0 31 2 *' }, 'schedule.cron'],
  ['30 February with a count (the count is not to blame)', { cron: '0 0 30 2 *', count: 3 }, 'schedule.cron'],
  ['4 fields', { cron: '* * * *' }, 'schedule.cron'],
  ['7 fields', { cron: '0 0 0 * * * *' }, 'schedule.cron'],
  ['hour 24', { cron: '0 24 * * *' }, 'schedule.cron'],
  ['second 60', { cron: '60 * * * * *' }, 'schedule.cron'],
  ['day 0', { cron: '0 0 0 * *' }, 'schedule.cron'],
  ['month 13', { cron: '0 0 * 13 *' }, 'schedule.cron'],
  ['weekday 8', { cron: '0 0 * * 8' }, 'schedule.cron'],
  ['sixth Monday', { cron: '0 0 * * 1#6' }, 'schedule.cron'],
  ['backwards range', { cron: '5-1 * * * *' }, 'schedule.cron'],
  ['a word', { cron: 'often * * * *' }, 'schedule.cron'],
  ['empty list item', { cron: '1,,2 * * * *' }, 'schedule.cron'],
  ['negative minute', { cron: '-1 * * * *' }, 'schedule.cron'],
  ['an unknown macro', { cron: '@reboot' }, 'schedule.cron'],
  // cron-parser 5's syntax (README "cron"): these differ from Vixie cron or our earlier parser.
  ['H, a random value drawn again at each parse (a restart would move it)', { cron: 'H 9 * * *' }, 'schedule.cron'],
  ['a hashed range', { cron: '0 H(0-3) * * *' }, 'schedule.cron'],
  ['a list naming a value twice (Sunday as 0 and 7; Vixie cron takes it, cron-parser does not)', { cron: '0 0 * * 0,7' }, 'schedule.cron'],
  ['a list whose items overlap', { cron: '*/15,30 * * * *' }, 'schedule.cron'],
  ['n#k inside a list (cron-parser takes one alone; use `any` for several)', { cron: '0 9 * * 1#1,1#3' }, 'schedule.cron'],
  ['a standalone L as day of week', { cron: '0 0 * * L' }, 'schedule.cron'],
  ['empty', { cron: '' }, 'schedule.cron'],
  ['not a string', { cron: 5 }, 'schedule.cron'],
  ['too long', { cron: `${'0,'.repeat(200)}0 * * * *` }, 'schedule.cron'],
  ['unknown zone', { cron: '0 9 * * *', tz: 'Mars/Olympus' }, 'schedule.tz'],
  ['empty zone', { cron: '0 9 * * *', tz: '' }, 'schedule.tz'],
  ['zone as a number', { cron: '0 9 * * *', tz: 1 }, 'schedule.tz'],
  // rrule.
  ['FREQ=SOMETIMES', { rrule: 'FREQ=SOMETIMES' }, 'schedule.rrule'],
  ['no FREQ', { rrule: 'BYDAY=MO' }, 'schedule.rrule'],
  ['unknown part', { rrule: 'FREQ=DAILY;SOMETIMES=1' }, 'schedule.rrule'],
  ['COUNT=0', { rrule: 'FREQ=DAILY;COUNT=0' }, 'schedule.rrule'],
  ['INTERVAL=0', { rrule: 'FREQ=DAILY;INTERVAL=0' }, 'schedule.rrule'],
  ['BYHOUR=24', { rrule: 'FREQ=DAILY;BYHOUR=24' }, 'schedule.rrule'],
  ['COUNT with UNTIL', { rrule: 'FREQ=DAILY;COUNT=2;UNTIL=20270201T000000Z' }, 'schedule.rrule'],
  ['BYMONTHDAY on WEEKLY', { rrule: 'FREQ=WEEKLY;BYMONTHDAY=1' }, 'schedule.rrule'],
  ['30 February', { rrule: 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30' }, 'schedule.rrule'],
  ['a DTSTART line', { rrule: 'DTSTART:20270101T000000Z\nRRULE:FREQ=DAILY' }, 'schedule.rrule'],
  ['an impossible UNTIL', { rrule: 'FREQ=DAILY;UNTIL=20270230T000000Z' }, 'schedule.rrule'],
  ['a part given twice', { rrule: 'FREQ=DAILY;FREQ=WEEKLY' }, 'schedule.rrule'],
  ['not a string', { rrule: { freq: 'DAILY' } }, 'schedule.rrule'],
  ['COUNT and count', { rrule: 'FREQ=DAILY;COUNT=2', count: 2 }, 'schedule.count'],
  ['unknown zone', { rrule: 'FREQ=DAILY', tz: 'Mars/Olympus' }, 'schedule.tz'],
  // every.
  ['"often"', { every: 'often' }, 'schedule.every'],
  ['zero', { every: 0 }, 'schedule.every'],
  ['negative', { every: -1000 }, 'schedule.every'],
  ['NaN', { every: Number.NaN }, 'schedule.every'],
  ['Infinity', { every: Number.POSITIVE_INFINITY }, 'schedule.every'],
  ['a fraction', { every: 1.5 }, 'schedule.every'],
  ['a numeric string', { every: '1000' }, 'schedule.every'],
  ['words', { every: '10 minutes' }, 'schedule.every'],
  ['null', { every: null }, 'schedule.every'],
  ['past a century', { every: '6000w' }, 'schedule.every'],
  ['past safe integers', { every: 2 ** 53 }, 'schedule.every'],
  ['a string past safe integers', { every: '99999999999999w' }, 'schedule.every'],
  // Adaptive every.
  ['minEvery without the others', { every: '10m', minEvery: '1m' }, 'schedule.maxEvery'],
  ['minEvery above every', { every: '10m', minEvery: '20m', maxEvery: '1h', backoff: 2 }, 'schedule.minEvery'],
  ['maxEvery below every', { every: '10m', minEvery: '1m', maxEvery: '5m', backoff: 2 }, 'schedule.maxEvery'],
  ['backoff 1', { every: '10m', minEvery: '1m', maxEvery: '1h', backoff: 1 }, 'schedule.backoff'],
  ['backoff NaN', { every: '10m', minEvery: '1m', maxEvery: '1h', backoff: Number.NaN }, 'schedule.backoff'],
  ['backoff as a string', { every: '10m', minEvery: '1m', maxEvery: '1h', backoff: '2' }, 'schedule.backoff'],
  ['backoff 1000', { every: '10m', minEvery: '1m', maxEvery: '1h', backoff: 1000 }, 'schedule.backoff'],
  // at and in.
  ['a word for at', { at: 'tomorrow' }, 'schedule.at'],
  ['30 February', { at: '2027-02-30T00:00:00Z' }, 'schedule.at'],
  ['24:00', { at: '2027-01-01T24:00:00Z' }, 'schedule.at'],
  ['a local time without offset', { at: '2027-01-01T09:00:00' }, 'schedule.at'],
  ['a date without time', { at: '2027-01-01' }, 'schedule.at'],
  ['negative ms', { at: -1 }, 'schedule.at'],
  ['fractional ms', { at: 1.5 }, 'schedule.at'],
  ['NaN', { at: Number.NaN }, 'schedule.at'],
  ['before 1970', { at: '1969-12-31T23:00:00Z' }, 'schedule.at'],
  ['after 9999', { at: '9999-12-31T23:00:00-05:00' }, 'schedule.at'],
  ['past the last instant in ms', { at: 253402300800000 }, 'schedule.at'],
  ['a word for in', { in: 'soon' }, 'schedule.in'],
  ['a negative in', { in: -1 }, 'schedule.in'],
  ['NaN in', { in: Number.NaN }, 'schedule.in'],
  ['an in past year 9999', { in: '500000w' }, 'schedule.in'],
  // start, end, count.
  ['a bad start', { every: '1h', start: 'now' }, 'schedule.start'],
  ['end before start', { every: '1h', start: '2027-02-01T00:00Z', end: '2027-01-15T00:00Z' }, 'schedule.end'],
  ['cron end before start', { cron: '0 9 * * *', start: '2027-02-01T00:00Z', end: '2027-01-15T00:00Z' }, 'schedule.end'],
  ['an end in the past', { every: '1h', start: '2026-01-01T00:00Z', end: '2026-06-01T00:00Z' }, 'schedule.end'],
  ['an end before the first fire', { cron: '0 0 1 1 *', end: '2027-06-01T00:00Z', start: '2027-01-01T00:00:01Z' }, 'schedule.end'],
  ['an every whose end falls between the submit time and the next step', { every: '1h', start: '2026-12-31T23:10Z', end: '2027-01-01T00:05Z' }, 'schedule.end'],
  ['count 0', { every: '1h', count: 0 }, 'schedule.count'],
  ['negative count', { cron: '0 9 * * *', count: -1 }, 'schedule.count'],
  ['fractional count', { every: '1h', count: 2.5 }, 'schedule.count'],
  ['count as a string', { every: '1h', count: '3' }, 'schedule.count'],
  ['NaN count', { rrule: 'FREQ=DAILY', count: Number.NaN }, 'schedule.count'],
  ['count past 10,000', { every: '1h', count: 10_001 }, 'schedule.count'],
  ['a count used up since a past start', { every: '1h', start: '2026-12-31T20:00Z', count: 3 }, 'schedule.count'],
  // Combinators.
  ['an empty any', { any: [] }, 'schedule.any'],
  ['an any that is not an array', { any: { every: '1h' } }, 'schedule.any'],
  ['a bad part', { all: [{ every: '1h' }, { every: 'often' }] }, 'schedule.all[1].every'],
  ['an any whose only part is over', { any: [{ every: '1h', start: '2026-01-01T00:00Z', end: '2026-02-01T00:00Z' }] }, 'schedule.any'],
];

describe('B3: bad schedules are refused at submit', () => {
  it.each(REFUSED)('%s', (_name, schedule, field) => {
    const err = errorOf(() => compileSchedule(schedule, NOW));
    expect(err.code).toBe('INVALID_SCHEDULE');
    expect(err.details.field).toBe(field);
    expect(err.message.startsWith(`${field}: `)).toBe(true);
    expect(err.message.length).toBeGreaterThan(field.length + 10);
  });
});

describe('restoring a stored schedule', () => {
  it.each([
    ['a relative delay', { in: '10m' }, 'schedule.in'],
    ['an every without its start', { every: '1h' }, 'schedule.start'],
    ['a counted cron without its start', { cron: '0 9 * * *', count: 3 }, 'schedule.start'],
    ['an rrule without its start', { rrule: 'FREQ=DAILY' }, 'schedule.start'],
    ['something else', { every: 'often', start: '2027-01-01T00:00Z' }, 'schedule.every'],
  ])('refuses %s', (_name, spec, field) => {
    expect(errorOf(() => restoreSchedule(spec))).toMatchObject({ code: 'INVALID_SCHEDULE', details: { field } });
  });

  it('accepts a stored schedule whose fire times are all past', () => {
    const { trigger, recurring } = restoreSchedule({ every: '1h', start: '2026-01-01T00:00:00.000Z', count: 2 });
    expect(recurring).toBe(true);
    expect(trigger.next(NOW)).toBeNull();
  });
});
