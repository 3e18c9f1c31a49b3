import { describe, expect, it } from 'vitest';
import type { ContractEnv } from './contract.js';
import type { Harness } from './harness.js';

const LATER = { in: '1h' };

async function allIds(h: Harness): Promise<string[]> {
  return (await h.supervisor.list({ limit: 1000 })).tasks.map((t) => t.id).sort();
}

export function submitsContract(env: ContractEnv): void {
  describe('idempotency keys', () => {
    it('the same key with the same params returns the task that holds it; other params or another type is a KEY_CONFLICT', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const t = await s.submit({ type: 'echo', params: { a: 1, b: [1, 2] }, key: 'order-1', schedule: LATER });
      expect(t).toMatchObject({ existing: false, key: 'order-1' });
      // Same params in another key order are the same params.
      const again = await s.submit({ type: 'echo', params: { b: [1, 2], a: 1 }, key: 'order-1', schedule: LATER });
      expect(again).toMatchObject({ id: t.id, existing: true, state: 'queued' });
      await expect(s.submit({ type: 'echo', params: { a: 2, b: [1, 2] }, key: 'order-1' })).rejects.toMatchObject({ code: 'KEY_CONFLICT', details: { taskId: t.id } });
      await expect(s.submit({ type: 'noop', params: { a: 1, b: [1, 2] }, key: 'order-1' })).rejects.toMatchObject({ code: 'KEY_CONFLICT' });
      const other = await s.submit({ type: 'echo', params: { a: 2 }, key: 'order-2', schedule: LATER });
      expect(other.id).not.toBe(t.id);
      expect(await allIds(h)).toEqual([t.id, other.id].sort());

      // The key is held in the store, not in the process.
      const h2 = await env.restart(h);
      expect(await h2.supervisor.submit({ type: 'echo', params: { a: 1, b: [1, 2] }, key: 'order-1' })).toMatchObject({ id: t.id, existing: true });
      await expect(h2.supervisor.submit({ type: 'echo', params: { a: 3 }, key: 'order-1' })).rejects.toMatchObject({ code: 'KEY_CONFLICT' });
      expect(await allIds(h2)).toEqual([t.id, other.id].sort());
    });

    it('submits racing with one key make one task, and every one of them gets it', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const answers = await Promise.all(Array.from({ length: 8 }, () => s.submit({ type: 'echo', params: { x: 1 }, key: 'race', schedule: LATER })));
      const ids = new Set(answers.map((a) => a.id));
      expect(ids.size).toBe(1);
      expect(answers.filter((a) => !a.existing)).toHaveLength(1);
      expect(await allIds(h)).toEqual([...ids]);
    });

    it('a key is free again once its task ended (no key retention): the next submit makes a new task', async () => {
      const h = await env.start({ keyRetentionMs: 0 });
      const s = h.supervisor;
      const first = await s.submit({ type: 'noop', key: 'k' });
      await h.events.ended(first.id);
      const second = await s.submit({ type: 'noop', key: 'k', params: { other: true } });
      expect(second).toMatchObject({ existing: false });
      expect(second.id).not.toBe(first.id);
    });

    it('submitMany stores all or none: one bad entry stores nothing, whatever its place', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const held = await s.submit({ type: 'echo', params: { v: 1 }, key: 'held', schedule: LATER });
      const before = s.stats().states;

      await expect(s.submitMany([{ type: 'noop' }, { type: 'echo', params: { v: 2 }, key: 'held' }, { type: 'noop' }]))
        .rejects.toMatchObject({ code: 'KEY_CONFLICT', details: { index: 1 } });
      await expect(s.submitMany([{ type: 'noop', key: 'fresh' }, { type: 'noop', key: 'fresh', params: { other: 1 } }]))
        .rejects.toMatchObject({ code: 'KEY_CONFLICT', details: { index: 1 } });
      await expect(s.submitMany([{ type: 'noop' }, { type: 'no-such-type' }])).rejects.toMatchObject({ code: 'UNKNOWN_TYPE', details: { index: 1 } });
      expect(await allIds(h)).toEqual([held.id]);
      expect(s.stats().states).toEqual(before);
      // Nothing half-written surfaces after a restart either, and the refused keys are free.
      const h2 = await env.restart(h);
      expect(await allIds(h2)).toEqual([held.id]);
      expect(h2.supervisor.stats().states).toEqual(before);
      expect(await h2.supervisor.submit({ type: 'noop', key: 'fresh', params: { other: 1 } })).toMatchObject({ existing: false });
    });

    it('submitMany entries sharing a key with the same params are one task', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const [a, b, c] = await s.submitMany([
        { type: 'echo', params: { v: 1 }, key: 'twice', schedule: LATER },
        { type: 'noop', schedule: LATER },
        { type: 'echo', params: { v: 1 }, key: 'twice', schedule: LATER },
      ]);
      expect(a).toMatchObject({ existing: false });
      expect(c).toMatchObject({ id: a!.id, existing: true });
      expect(await allIds(h)).toEqual([a!.id, b!.id].sort());
    });
  });

  describe('maxQueued', () => {
    it('refuses a submit past the type\'s open tasks with QUEUE_FULL and stores nothing; ended tasks free room', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const one = await s.submit({ type: 'capped', schedule: LATER, key: 'one' });
      // A submitMany counts all its entries: two more do not fit beside one.
      await expect(s.submitMany([{ type: 'capped', schedule: LATER }, { type: 'capped', schedule: LATER }])).rejects.toMatchObject({ code: 'QUEUE_FULL' });
      expect(s.stats().types.capped).toEqual({ queued: 1 });
      const two = await s.submit({ type: 'capped', schedule: LATER });
      await expect(s.submit({ type: 'capped', schedule: LATER })).rejects.toMatchObject({ code: 'QUEUE_FULL', details: { type: 'capped' } });
      // A key that returns an open task adds none: it is answered even at the limit.
      expect(await s.submit({ type: 'capped', schedule: LATER, key: 'one' })).toMatchObject({ id: one.id, existing: true });
      // Other types are not limited by it.
      await s.submit({ type: 'noop', schedule: LATER });
      expect((await s.list({ type: 'capped' })).tasks.map((t) => t.id).sort()).toEqual([one.id, two.id].sort());

      // The limit holds over what is stored, across a restart.
      const h2 = await env.restart(h);
      await expect(h2.supervisor.submit({ type: 'capped', schedule: LATER })).rejects.toMatchObject({ code: 'QUEUE_FULL' });
      await h2.supervisor.cancel(two.id);
      const three = await h2.supervisor.submit({ type: 'capped' });
      await h2.events.ended(three.id);
      // Ended tasks are not open: room for one more again.
      const four = await h2.supervisor.submit({ type: 'capped', schedule: LATER });
      expect(h2.supervisor.stats().types.capped).toEqual({ queued: 2, failed: 1, finished: 1 });
      expect(four.state).toBe('queued');
    });

    it('submits racing for the last places get exactly the places there are', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => s.submit({ type: 'capped', schedule: LATER })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'QUEUE_FULL' });
      expect(s.stats().types.capped).toEqual({ queued: 2 });
      expect((await s.list({ type: 'capped' })).tasks).toHaveLength(2);
    });
  });
}
