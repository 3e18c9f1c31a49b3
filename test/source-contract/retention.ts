import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { until } from '../helpers/runtime.js';
import type { ContractEnv } from './contract.js';
import type { Harness } from './harness.js';
import { markerDir } from './harness.js';

const HOUR = 3_600_000;

async function gone(h: Harness, id: string): Promise<boolean> {
  return h.supervisor.get(id).then(() => false, (err: { code?: string }) => {
    if (err.code === 'NOT_FOUND') return true;
    throw err;
  });
}

export function retentionContract(env: ContractEnv): void {
  describe('retention', () => {
    it('deletes terminal tasks, with their runs and history, once their retention passed, and counts them; live and kept-forever tasks stay', async () => {
      const h = await env.start({ retentionMs: 300, sweepIntervalMs: 50 });
      const s = h.supervisor;
      const marker = join(markerDir(), 'hold');
      const running = await s.submit({ type: 'hold', params: { marker } });
      const waiting = await s.submit({ type: 'noop', schedule: { in: '1h' } });
      const kept = await s.submit({ type: 'kept' });
      const ended = [await s.submit({ type: 'noop' }), await s.submit({ type: 'echo' }), await s.submit({ type: 'flaky', maxTries: 1 })];
      for (const t of [kept, ...ended]) await h.events.ended(t.id);
      await until(() => existsSync(marker));

      await until(() => s.stats().swept >= ended.length);
      expect(s.stats().swept).toBe(ended.length);
      for (const t of ended) {
        for (const read of [(id: string) => s.get(id), (id: string) => s.runs(id), (id: string) => s.history(id)]) {
          await expect(read(t.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
        }
      }
      expect((await s.list()).tasks.map((t) => t.id).sort()).toEqual([running.id, waiting.id, kept.id].sort());
      expect(s.stats().states).toMatchObject({ running: 1, queued: 1, finished: 1, failed: 0 });
      expect(s.stats().types).toMatchObject({ kept: { finished: 1 }, noop: { queued: 1 } });
      expect(s.stats().types.echo ?? {}).toEqual({});
      expect(await s.get(kept.id)).toMatchObject({ state: 'finished', endedAt: expect.any(String) });

      const h2 = await env.restart(h, { graceMs: 0 });
      for (const t of ended) expect(await gone(h2, t.id)).toBe(true);
      expect(h2.supervisor.stats().types).toMatchObject({ kept: { finished: 1 }, noop: { queued: 1 } });
      expect(h2.supervisor.stats().types.flaky ?? {}).toEqual({});
    });

    it('an ended task keeps its key for the key retention (a resubmit gets it back), never longer than the task is kept', async () => {
      const h = await env.start({ retentionMs: 400, keyRetentionMs: HOUR, sweepIntervalMs: 50 });
      const s = h.supervisor;
      // `kept` ignores the runtime's retention: its key is held the full key retention.
      const a = await s.submit({ type: 'kept', params: { v: 1 }, key: 'a' });
      const b = await s.submit({ type: 'kept', params: { v: 1 }, key: 'b', keyRetention: '300ms' });
      const c = await s.submit({ type: 'noop', params: { v: 1 }, key: 'c' });
      for (const t of [a, b, c]) await h.events.ended(t.id);

      const va = await s.get(a.id);
      expect(Date.parse(va.keyExpiresAt!)).toBe(Date.parse(va.endedAt!) + HOUR);
      expect(await s.submit({ type: 'kept', params: { v: 1 }, key: 'a' })).toMatchObject({ id: a.id, existing: true, state: 'finished' });
      await expect(s.submit({ type: 'kept', params: { v: 2 }, key: 'a' })).rejects.toMatchObject({ code: 'KEY_CONFLICT', details: { taskId: a.id } });

      const vb = await s.get(b.id);
      expect(Date.parse(vb.keyExpiresAt!)).toBe(Date.parse(vb.endedAt!) + 300);
      const vc = await s.get(c.id);
      // Capped at the task's own deletion (retention 400 ms), so a resubmit never finds a key whose task is gone.
      expect(Date.parse(vc.keyExpiresAt!)).toBe(Date.parse(vc.endedAt!) + 400);

      // b's hold runs out (the task stays): the key is free, other params make a new task.
      await until(async () => (await s.get(b.id)).keyExpiresAt === undefined);
      const b2 = await s.submit({ type: 'kept', params: { v: 2 }, key: 'b' });
      expect(b2).toMatchObject({ existing: false });
      expect(b2.id).not.toBe(b.id);
      expect(await s.get(b.id)).toMatchObject({ state: 'finished', key: 'b' });

      // c is deleted with its hold: the key is free.
      await until(() => gone(h, c.id));
      const c2 = await s.submit({ type: 'noop', params: { v: 2 }, key: 'c' });
      expect(c2).toMatchObject({ existing: false });

      const h2 = await env.restart(h);
      expect(await h2.supervisor.submit({ type: 'kept', params: { v: 1 }, key: 'a' })).toMatchObject({ id: a.id, existing: true });
      expect(await h2.supervisor.submit({ type: 'kept', params: { v: 2 }, key: 'b' })).toMatchObject({ id: b2.id, existing: true });
    });
  });
}
