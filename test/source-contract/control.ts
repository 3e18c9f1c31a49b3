import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskIdGenerator } from '../../src/task/task-id.js';
import type { ContractEnv } from './contract.js';
import { markerDir } from './harness.js';

const LATER = { in: '1h' };

export function controlContract(env: ContractEnv): void {
  describe('control', () => {
    it('cancels a queued task: failed, reason cancelled, never run; a second control call is INVALID_STATE', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const t = await s.submit({ type: 'noop', schedule: LATER });
      const v = await s.cancel(t.id);
      expect(v).toMatchObject({ state: 'failed', reason: 'cancelled', nextRunAt: null, runCount: 0, lastRun: null });
      expect(Date.parse(v.endedAt!)).toBeGreaterThan(0);
      expect(await s.get(t.id)).toEqual(v);
      expect((await s.history(t.id)).map((e) => `${e.event}:${e.to}:${e.reason}`)).toEqual(['submit:spooled:null', 'place:queued:null', 'cancel:failed:cancelled']);
      expect(await s.pending()).toEqual([]);
      for (const call of [(x: string) => s.cancel(x), (x: string) => s.pause(x), (x: string) => s.resume(x), (x: string) => s.runNow(x)]) {
        await expect(call(t.id)).rejects.toMatchObject({ code: 'INVALID_STATE', details: { state: 'failed' } });
      }
      expect(await s.get(t.id)).toEqual(v);
    });

    it('cancels a running task: its handler\'s signal is aborted, the run ends cancelled, and the late outcome is dropped', async () => {
      const h = await env.start({ workers: 1 });
      const s = h.supervisor;
      const marker = join(markerDir(), 'hold');
      const t = await s.submit({ type: 'hold', params: { marker } });
      await h.events.reached(t.id, 'running');
      const v = await s.cancel(t.id);
      expect(v).toMatchObject({ state: 'failed', reason: 'cancelled', tries: 1 });
      expect(v.lastRun).toMatchObject({ run: 1, state: 'cancelled', error: { code: 'CANCELLED' } });
      // One slot: this runs only once the cancelled handler gave it back, having seen its signal.
      const next = await s.submit({ type: 'noop' });
      await h.events.ended(next.id);
      expect(existsSync(`${marker}.aborted`)).toBe(true);
      expect(await s.get(t.id)).toEqual(v);
      expect(await s.runs(t.id)).toEqual([v.lastRun]);
      const ended = h.events.all.filter((ev) => ev.event === 'run.ended' && ev.data.id === t.id);
      expect(ended.map((ev) => ev.event === 'run.ended' && ev.data.state)).toEqual(['cancelled']);

      const h2 = await env.restart(h);
      expect(await h2.supervisor.get(t.id)).toEqual(v);
    });

    it('a paused task is never started; resumed, it runs; both survive a restart', async () => {
      const h = await env.start({ workers: 1 });
      const s = h.supervisor;
      const marker = join(markerDir(), 'hold');
      const blocker = await s.submit({ type: 'hold', params: { marker } });
      await h.events.reached(blocker.id, 'running');
      const paused = await s.submit({ type: 'echo', params: { p: 1 } });
      expect(await s.pause(paused.id)).toMatchObject({ state: 'queued', paused: true });
      await expect(s.pause(paused.id)).rejects.toMatchObject({ code: 'INVALID_STATE', details: { paused: true } });
      await expect(s.runNow(paused.id)).rejects.toMatchObject({ code: 'INVALID_STATE' });
      const later = await s.submit({ type: 'noop', schedule: LATER });
      await s.pause(later.id);
      // The slot frees; the paused task was due first, yet the one after it runs.
      await s.cancel(blocker.id);
      const after = await s.submit({ type: 'noop' });
      await h.events.ended(after.id);
      expect(await s.get(paused.id)).toMatchObject({ state: 'queued', paused: true, runCount: 0 });
      expect((await s.pending()).map((x) => x.id)).toEqual([]);

      const h2 = await env.restart(h);
      const s2 = h2.supervisor;
      expect(await s2.get(paused.id)).toMatchObject({ state: 'queued', paused: true, runCount: 0 });
      expect(await s2.get(later.id)).toMatchObject({ state: 'queued', paused: true });
      const probe = await s2.submit({ type: 'noop' });
      await h2.events.ended(probe.id);
      expect(await s2.get(paused.id)).toMatchObject({ runCount: 0 });

      expect(await s2.resume(paused.id)).toMatchObject({ paused: false });
      await h2.events.ended(paused.id);
      expect(await s2.get(paused.id)).toMatchObject({ state: 'finished', runCount: 1, lastRun: { output: { p: 1 } } });
      await expect(s2.resume(later.id)).resolves.toMatchObject({ paused: false, state: 'queued' });
      await expect(s2.resume(later.id)).rejects.toMatchObject({ code: 'INVALID_STATE', details: { paused: false } });
      expect((await s2.history(paused.id)).map((e) => e.event)).toEqual(['submit', 'place', 'pause', 'resume', 'start', 'succeed']);
    });

    it('due tasks of a paused type do not hold back other types due after them, also after a restart; resumed, they run', async () => {
      const h = await env.start();
      await h.supervisor.setTypePaused('echo', true);
      // More than a small due window holds, all due before the noop task; a restart reads them from the store.
      const held = await h.supervisor.submitMany(Array.from({ length: 6 }, (_, i) => ({ type: 'echo', params: { i } })));
      const h2 = await env.restart(h);
      const s = h2.supervisor;
      const other = await s.submit({ type: 'noop' });
      await h2.events.ended(other.id);
      expect(await s.get(other.id)).toMatchObject({ state: 'finished' });
      for (const t of held) expect(await s.get(t.id)).toMatchObject({ state: 'queued', runCount: 0 });

      await s.setTypePaused('echo', false);
      for (const t of held) await h2.events.ended(t.id);
      for (const t of held) expect(await s.get(t.id)).toMatchObject({ state: 'finished', runCount: 1 });
    });

    it('run-now makes a waiting task due at once; it is refused for an ended one', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const t = await s.submit({ type: 'echo', params: { now: true }, schedule: { in: '1d' } });
      // Due a day from now: only run-now makes it end within the test.
      const forced = await s.runNow(t.id);
      expect(['queued', 'running']).toContain(forced.state);
      await h.events.ended(t.id);
      expect(await s.get(t.id)).toMatchObject({ state: 'finished', runCount: 1, lastRun: { output: { now: true } } });
      expect((await s.history(t.id)).map((e) => `${e.event}:${e.to}`)).toEqual(['submit:spooled', 'place:queued', 'run_now:queued', 'start:running', 'succeed:finished']);
      await expect(s.runNow(t.id)).rejects.toMatchObject({ code: 'INVALID_STATE', details: { state: 'finished' } });
    });

    it('answers NOT_FOUND for an id no task has', async () => {
      const h = await env.start();
      const s = h.supervisor;
      await s.submit({ type: 'noop', schedule: LATER });
      const id = new TaskIdGenerator().next(Date.now() - 1000);
      const calls: Array<(id: string) => Promise<unknown>> = [
        (x) => s.get(x), (x) => s.cancel(x), (x) => s.pause(x), (x) => s.resume(x), (x) => s.runNow(x), (x) => s.runs(x), (x) => s.history(x),
      ];
      for (const call of calls) await expect(call(id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });
}
