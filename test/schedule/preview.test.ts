import { describe, expect, it } from 'vitest';
import { MAX_PREVIEW, previewSchedule } from '../../src/schedule/index.js';
import { errorOf } from '../helpers/errors.js';
import { isos, ms } from './fire-times.js';

/** schedule.preview: the next fire times of a schedule, without submitting it. */

const NOW = ms('2027-03-12T12:00Z');
const preview = (schedule: unknown, count: number, after = NOW) => previewSchedule(schedule, count, after, NOW).map((t) => new Date(t).toISOString());

describe('previewSchedule', () => {
  it("shows New York's 02:30 moved to 03:00 EDT on the spring-forward day", () => {
    expect(preview({ cron: '0 30 2 * * *', tz: 'America/New_York' }, 5)).toEqual(
      isos(['2027-03-13T07:30Z', '2027-03-14T07:00Z', '2027-03-15T06:30Z', '2027-03-16T06:30Z', '2027-03-17T06:30Z']),
    );
  });

  it('gives fewer times when the schedule ends sooner', () => {
    // Strictly after `after`: the fire at the submit time itself shows only from just before it.
    expect(preview({ every: '1h', count: 3 }, 10)).toEqual(isos(['2027-03-12T13:00Z', '2027-03-12T14:00Z']));
    expect(preview({ every: '1h', count: 3 }, 10, NOW - 1)).toEqual(isos(['2027-03-12T12:00Z', '2027-03-12T13:00Z', '2027-03-12T14:00Z']));
  });

  it('starts no earlier than the schedule', () => {
    expect(preview({ every: '1h', start: '2027-04-01T00:00Z' }, 2)).toEqual(isos(['2027-04-01T00:00Z', '2027-04-01T01:00Z']));
  });

  it('shows times after any instant, later or earlier than now', () => {
    expect(preview({ cron: '0 9 * * *' }, 1, ms('2030-01-01T00:00Z'))).toEqual(isos(['2030-01-01T09:00Z']));
    expect(preview({ cron: '0 9 * * *' }, 1, ms('2020-01-01T00:00Z'))).toEqual(isos(['2020-01-01T09:00Z']));
  });

  it('shows a one-shot schedule once', () => {
    expect(preview({ in: '10m' }, 5)).toEqual(isos(['2027-03-12T12:10Z']));
  });

  it(`gives up to MAX_PREVIEW (${MAX_PREVIEW}) times`, () => {
    const times = preview({ every: '1m' }, MAX_PREVIEW, NOW - 1);
    expect(times).toHaveLength(MAX_PREVIEW);
    expect(times.at(-1)).toBe(new Date(NOW + (MAX_PREVIEW - 1) * 60_000).toISOString());
  });

  it.each([0, -1, 2.5, MAX_PREVIEW + 1, Number.NaN])('refuses count %s, naming count', (count) => {
    expect(errorOf(() => previewSchedule({ every: '1h' }, count, NOW, NOW))).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'count' } });
  });

  it('refuses a bad schedule as a submit would', () => {
    expect(errorOf(() => previewSchedule({ cron: '61 * * * *' }, 5, NOW, NOW))).toMatchObject({ code: 'INVALID_SCHEDULE', details: { field: 'schedule.cron' } });
  });

  it.each([
    ['after the last instant a schedule can hold', 8.64e15],
    ['an instant that is not a number', Number.NaN],
  ])('answers no times, at once, %s', (_name, after) => {
    for (const schedule of [{ cron: '* * * * *', tz: 'Asia/Tokyo' }, { rrule: 'FREQ=DAILY', tz: 'Asia/Tokyo' }, { every: '1h' }, { any: [{ cron: '0 9 * * *' }, { every: '1d' }] }]) {
      expect(preview(schedule, 3, after)).toEqual([]);
    }
  });
});
