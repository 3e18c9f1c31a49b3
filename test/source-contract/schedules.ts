import { describe, expect, it } from 'vitest';
import type { ContractEnv } from './contract.js';

const SECOND = 1000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number): string => new Date(ms).toISOString();
const WEEKDAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'];

/** Wall-clock fields of instant `at` in a zone with a fixed offset (no daylight-saving time). */
function fieldsAt(at: number, offsetMinutes: number): { s: number; m: number; h: number; dow: number } {
  const d = new Date(at + offsetMinutes * 60_000);
  return { s: d.getUTCSeconds(), m: d.getUTCMinutes(), h: d.getUTCHours(), dow: d.getUTCDay() };
}

export function schedulesContract(env: ContractEnv): void {
  describe('schedules\' next occurrence', () => {
    it('an `every` task fires once per interval from its start, `count` times, then finishes exhausted', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const start = Date.now() + 1000;
      const t = await s.submit({ type: 'noop', schedule: { every: '300ms', start: iso(start), count: 3 }, misfire: 'all' });
      expect(t.nextRunAt).toBe(iso(start));
      await h.events.ended(t.id);
      expect(await s.get(t.id)).toMatchObject({ state: 'finished', reason: 'exhausted', occurrences: 3, runCount: 3, nextRunAt: null });
      const runs = await s.runs(t.id);
      expect(runs.map((r) => [r.attempt, r.state])).toEqual([[1, 'finished'], [1, 'finished'], [1, 'finished']]);
      runs.forEach((r, k) => expect(Date.parse(r.startedAt)).toBeGreaterThanOrEqual(start + k * 300));
    });

    it('after a run, an `every` task is due one interval after the fire time; run-now does not move it; a restart keeps it', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const start = Date.now() + 1000;
      const t = await s.submit({ type: 'noop', schedule: { every: '1h', start: iso(start) } });
      expect(t.nextRunAt).toBe(iso(start));
      await h.events.reached(t.id, 'queued', 2);
      const v = await s.get(t.id);
      expect(v).toMatchObject({ state: 'queued', tries: 0, runCount: 1, occurrences: 1, nextRunAt: iso(start + HOUR) });
      expect(Date.parse(v.lastRun!.startedAt)).toBeGreaterThanOrEqual(start);

      await s.runNow(t.id);
      await h.events.reached(t.id, 'queued', 3);
      expect(await s.get(t.id)).toMatchObject({ state: 'queued', runCount: 2, nextRunAt: iso(start + HOUR) });

      const h2 = await env.restart(h);
      expect(await h2.supervisor.get(t.id)).toMatchObject({ state: 'queued', runCount: 2, nextRunAt: iso(start + HOUR) });
      expect((await h2.supervisor.pending()).map((p) => [p.id, p.nextRunAt])).toEqual([[t.id, iso(start + HOUR)]]);
    });

    it('after a run, a cron or rrule task is due at the schedule\'s next fire time after the one that ran, before and after a restart', async () => {
      const h = await env.start();
      const s = h.supervisor;
      // A whole second far enough ahead to submit before it; both schedules fire then.
      const fire = Math.ceil((Date.now() + 1500) / SECOND) * SECOND;
      // Kathmandu is UTC+05:45 all year: on this weekday and three days later, at this local time.
      const k = fieldsAt(fire, 5 * 60 + 45);
      const cron = await s.submit({
        type: 'noop',
        schedule: { cron: `${k.s} ${k.m} ${k.h} * * ${k.dow},${(k.dow + 3) % 7}`, tz: 'Asia/Kathmandu' },
      });
      // Tokyo is UTC+09:00 all year: weekly on this weekday and two days later.
      const j = fieldsAt(fire, 9 * 60);
      const rrule = await s.submit({
        type: 'noop',
        schedule: { rrule: `FREQ=WEEKLY;BYDAY=${WEEKDAYS[j.dow]},${WEEKDAYS[(j.dow + 2) % 7]};BYHOUR=${j.h};BYMINUTE=${j.m};BYSECOND=${j.s}`, tz: 'Asia/Tokyo' },
      });
      expect([cron.nextRunAt, rrule.nextRunAt]).toEqual([iso(fire), iso(fire)]);

      await h.events.reached(cron.id, 'queued', 2);
      await h.events.reached(rrule.id, 'queued', 2);
      const expected = { [cron.id]: fire + 3 * DAY, [rrule.id]: fire + 2 * DAY };
      for (const id of [cron.id, rrule.id]) {
        const v = await s.get(id);
        expect(v).toMatchObject({ state: 'queued', runCount: 1, occurrences: 1, nextRunAt: iso(expected[id]!) });
        expect(Date.parse(v.lastRun!.startedAt)).toBeGreaterThanOrEqual(fire);
      }

      // The schedule comes back from the store: a forced run after a restart leaves the next fire time where it was.
      const h2 = await env.restart(h);
      const s2 = h2.supervisor;
      for (const id of [cron.id, rrule.id]) expect(await s2.get(id)).toMatchObject({ state: 'queued', nextRunAt: iso(expected[id]!) });
      await s2.runNow(cron.id);
      await h2.events.reached(cron.id, 'queued');
      expect(await s2.get(cron.id)).toMatchObject({ runCount: 2, occurrences: 2, nextRunAt: iso(expected[cron.id]!) });
      expect((await s2.pending()).map((p) => p.id)).toEqual([rrule.id, cron.id]);
    });
  });
}
