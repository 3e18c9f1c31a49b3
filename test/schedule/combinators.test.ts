import { describe, expect, it } from 'vitest';
import { compileSchedule } from '../../src/schedule/index.js';
import { errorOf } from '../helpers/errors.js';
import { firesOf, isos, ms } from './fire-times.js';

/** `any` (union) and `all` (intersection), their flattening and their limits. */

const NOW = ms('2027-01-01T00:00Z');
const refusal = (schedule: unknown) => errorOf(() => compileSchedule(schedule, NOW));

describe('any', () => {
  it('fires whenever a part fires', () => {
    expect(firesOf({ any: [{ cron: '0 9 * * *' }, { cron: '0 17 * * *' }] }, NOW, 3)).toEqual(isos(['2027-01-01T09:00Z', '2027-01-01T17:00Z', '2027-01-02T09:00Z']));
  });

  it('fires once when parts coincide', () => {
    expect(firesOf({ any: [{ cron: '0 * * * *' }, { cron: '0 */2 * * *' }] }, NOW, 4)).toEqual(isos(['2027-01-01T00:00Z', '2027-01-01T01:00Z', '2027-01-01T02:00Z', '2027-01-01T03:00Z']));
  });

  it("fires once when one part's gap time and another's first time after the gap coincide", () => {
    const paris = { any: [{ cron: '30 2 * * *', tz: 'Europe/Paris' }, { cron: '0 3 * * *', tz: 'Europe/Paris' }] };
    expect(firesOf(paris, ms('2027-03-27T12:00Z'), 3)).toEqual(isos(['2027-03-28T01:00Z', '2027-03-29T00:30Z', '2027-03-29T01:00Z']));
  });

  it('mixes one-shot and recurring parts, and is recurring when any part is', () => {
    const c = compileSchedule({ any: [{ in: '90m' }, { every: '1h' }] }, NOW);
    expect(c.recurring).toBe(true);
    expect(firesOf({ any: [{ in: '90m' }, { every: '1h', count: 3 }] }, NOW, 10)).toEqual(isos(['2027-01-01T00:00Z', '2027-01-01T01:00Z', '2027-01-01T01:30Z', '2027-01-01T02:00Z']));
  });

  it('of one-shot parts only is not recurring', () => {
    expect(compileSchedule({ any: [{ in: '1m' }, { at: '2027-02-01T00:00Z' }] }, NOW).recurring).toBe(false);
  });

  it('flattens a nested any into one list', () => {
    const c = compileSchedule({ any: [{ any: [{ cron: '0 9 * * *' }, { cron: '0 12 * * *' }] }, { cron: '0 17 * * *' }] }, NOW);
    expect(c.spec).toEqual({ any: [{ cron: '0 9 * * *', tz: 'UTC' }, { cron: '0 12 * * *', tz: 'UTC' }, { cron: '0 17 * * *', tz: 'UTC' }] });
  });
});

describe('all', () => {
  it('fires when every part fires at the same instant (Friday the 13th)', () => {
    expect(firesOf({ all: [{ cron: '0 0 13 * *' }, { cron: '0 0 * * 5' }] }, NOW, 2)).toEqual(isos(['2027-08-13T00:00Z', '2028-10-13T00:00Z']));
  });

  it('intersects an every with a cron', () => {
    expect(firesOf({ all: [{ every: '90m' }, { cron: '0 */2 * * *' }] }, NOW, 3)).toEqual(isos(['2027-01-01T00:00Z', '2027-01-01T06:00Z', '2027-01-01T12:00Z']));
  });

  it('with a one-shot part fires at most once, and is not recurring', () => {
    const schedule = { all: [{ at: '2027-01-01T03:00Z' }, { every: '1h' }] };
    expect(compileSchedule(schedule, NOW).recurring).toBe(false);
    expect(firesOf(schedule, NOW, 5)).toEqual(isos(['2027-01-01T03:00Z']));
  });

  it('finds a coincidence decades ahead, within its 30-year horizon: 29 February on a Monday', () => {
    expect(firesOf({ all: [{ cron: '0 0 29 2 *' }, { cron: '0 0 * * 1' }] }, NOW, 2)).toEqual(isos(['2044-02-29T00:00Z', '2072-02-29T00:00Z']));
  });

  it('may hold an any, two levels deep', () => {
    const schedule = { all: [{ any: [{ cron: '0 9 * * *' }, { cron: '0 17 * * *' }] }, { cron: '0 * * * 1' }] };
    expect(firesOf(schedule, NOW, 3)).toEqual(isos(['2027-01-04T09:00Z', '2027-01-04T17:00Z', '2027-01-11T09:00Z']));
  });

  it.each([
    ['Mondays with Tuesdays', [{ cron: '0 9 * * 1' }, { cron: '0 9 * * 2' }]],
    ['two hourly schedules out of phase', [{ every: '1h' }, { every: '1h', start: '2027-01-01T00:30Z' }]],
    ['29 February with the 31st', [{ cron: '0 0 29 2 *' }, { cron: '0 0 31 * *' }]],
    ['whole minutes with second 30', [{ cron: '* * * * *' }, { cron: '30 * * * * *' }]],
    ['New Year in ten zones a few hours apart', ['Pacific/Kiritimati', 'Etc/GMT+12', 'Asia/Kathmandu', 'America/St_Johns', 'Australia/Lord_Howe', 'Pacific/Chatham', 'Asia/Tehran', 'America/Caracas', 'Africa/Casablanca', 'Europe/Dublin'].map((tz) => ({ cron: '0 0 1 1 *', tz }))],
  ])('whose parts never coincide (%s) is refused at submit, after a bounded search', (_name, parts) => {
    expect(refusal({ all: parts })).toMatchObject({ code: 'INVALID_SCHEDULE', details: { field: 'schedule.all' } });
  });
});

describe('combinator limits', () => {
  const cron = (h: number) => ({ cron: `0 ${h} * * *` });

  it('refuses more than 10 parts, counted after flattening', () => {
    expect(compileSchedule({ any: Array.from({ length: 10 }, (_, h) => cron(h)) }, NOW).recurring).toBe(true);
    expect(refusal({ any: Array.from({ length: 11 }, (_, h) => cron(h)) })).toMatchObject({ code: 'INVALID_SCHEDULE', details: { field: 'schedule.any' } });
    const nested = { any: [{ any: Array.from({ length: 6 }, (_, h) => cron(h)) }, { any: Array.from({ length: 6 }, (_, h) => cron(h + 6)) }] };
    expect(refusal(nested)).toMatchObject({ code: 'INVALID_SCHEDULE', details: { field: 'schedule.any' } });
  });

  it('refuses any and all nested three levels deep', () => {
    const schedule = { any: [{ all: [{ any: [cron(1), cron(2)] }, cron(3)] }, cron(4)] };
    expect(refusal(schedule)).toMatchObject({ code: 'INVALID_SCHEDULE', details: { field: 'schedule.any' } });
  });

  it('refuses ten thousand levels of nesting as a schedule error, not a stack overflow', () => {
    let schedule: unknown = cron(9);
    for (let i = 0; i < 10_000; i++) schedule = i % 2 === 0 ? { any: [schedule] } : { all: [schedule] };
    expect(refusal(schedule).code).toBe('INVALID_SCHEDULE');
  });

  it('refuses a huge list before compiling its parts', () => {
    expect(refusal({ any: Array.from({ length: 100_000 }, () => ({ every: 'often' })) })).toMatchObject({ code: 'INVALID_SCHEDULE', details: { field: 'schedule.any' } });
  });

  it('refuses an adaptive every inside a combinator', () => {
    const adaptive = { every: '10m', minEvery: '1m', maxEvery: '1h', backoff: 2 };
    expect(refusal({ any: [adaptive, cron(9)] })).toMatchObject({ code: 'INVALID_SCHEDULE', details: { field: 'schedule.any[0].minEvery' } });
  });

  it('names the part at fault', () => {
    expect(refusal({ any: [cron(9), { all: [cron(1), { cron: '61 * * * *' }] }] })).toMatchObject({ code: 'INVALID_SCHEDULE', details: { field: 'schedule.any[1].all[1].cron' } });
  });
});
