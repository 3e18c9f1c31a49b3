import { describe, expect, it } from 'vitest';
import { minuteOf } from '../../src/api/series.js';
import type { ContractEnv } from './contract.js';

const LATER = { in: '1h' };

/** What the dashboard reads through the source: paused counts, the oldest queued task, per-minute run counts, search candidates. */
export function dashboardReadsContract(env: ContractEnv): void {
  describe('dashboard reads', () => {
    it('counts paused open tasks per type and names the oldest queued task; both survive a restart', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const first = await s.submit({ type: 'noop', schedule: LATER });
      const second = await s.submit({ type: 'noop', schedule: LATER });
      await s.pause(second.id);
      expect(h.reader.paused('noop')).toBe(1);
      expect((await h.reader.oldestQueued('noop'))?.id).toBe(first.id);
      const h2 = await env.restart(h);
      expect(h2.reader.paused('noop')).toBe(1);
      expect((await h2.reader.oldestQueued('noop'))?.id).toBe(first.id);
      await h2.supervisor.cancel(second.id);
      await h2.supervisor.cancel(first.id);
      expect(h2.reader.paused('noop')).toBe(0);
      expect(await h2.reader.oldestQueued('noop')).toBeUndefined();
    });

    it('counts runs per type and minute in the write that starts or ends them: started, ended by outcome, run and wait times', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const from = minuteOf(Date.now());
      const ok = await s.submit({ type: 'noop' });
      const bad = await s.submit({ type: 'flaky', maxTries: 1 });
      await h.events.ended(ok.id);
      await h.events.ended(bad.id);
      const h2 = await env.restart(h);
      const to = minuteOf(Date.now());
      const total = async (type: string) => {
        const rows = await h2.reader.series(type, from, to);
        expect(rows.every((r) => r.minute >= from && r.minute <= to)).toBe(true);
        return rows.reduce((sum, r) => ({
          started: sum.started + r.counts.started,
          finished: sum.finished + (r.counts.ended['finished'] ?? 0),
          failed: sum.failed + (r.counts.ended['failed'] ?? 0),
          runs: sum.runs + r.counts.run.n,
          waits: sum.waits + r.counts.wait.n,
        }), { started: 0, finished: 0, failed: 0, runs: 0, waits: 0 });
      };
      expect(await total('noop')).toEqual({ started: 1, finished: 1, failed: 0, runs: 1, waits: 1 });
      expect(await total('flaky')).toEqual({ started: 1, finished: 0, failed: 1, runs: 1, waits: 1 });
      expect(await h2.reader.series('echo', from, to)).toEqual([]);
    });

    it('finds search candidates from indexes: by error word, id prefix, type and creation time, newest first, in pages', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const bad = await s.submit({ type: 'flaky', maxTries: 1 });
      await h.events.ended(bad.id);
      const a = await s.submit({ type: 'noop', schedule: LATER });
      const b = await s.submit({ type: 'noop', schedule: LATER });
      expect((await h.reader.search({ words: ['purpose'], limit: 10 }, 100)).ids).toEqual([bad.id]);
      expect((await h.reader.search({ words: ['never_said'], limit: 10 }, 100))).toEqual({ ids: [], exhausted: true });
      expect((await h.reader.search({ idPrefix: a.id, limit: 10 }, 100)).ids).toEqual([a.id]);
      expect((await h.reader.search({ type: 'noop', limit: 10 }, 100)).ids).toEqual([b.id, a.id]);
      const created = Date.parse(a.createdAt);
      expect((await h.reader.search({ from: created, limit: 10 }, 100)).ids).toContain(a.id);
      expect((await h.reader.search({ to: created - 1, limit: 10 }, 100)).ids).not.toContain(a.id);
      const page = await h.reader.search({ type: 'noop', limit: 10 }, 1);
      expect(page).toEqual({ ids: [b.id], exhausted: false });
      expect((await h.reader.search({ type: 'noop', limit: 10, cursor: b.id }, 1)).ids).toEqual([a.id]);
    });
  });
}
