import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { until } from '../helpers/runtime.js';
import type { ContractEnv } from './contract.js';
import type { Harness } from './harness.js';
import { markerDir } from './harness.js';

/**
 * The most runs that were in their handlers at once, from the times each handler says it held its
 * slot (a slot is given back only once its handler returned, so the handlers' own times are the truth).
 */
async function mostAtOnce(h: Harness, ids: readonly string[]): Promise<number> {
  const edges: Array<[number, number]> = [];
  for (const id of ids) {
    for (const run of await h.supervisor.runs(id)) {
      const { from, to } = run.output as { from: number; to: number };
      edges.push([from, 1], [to, -1]);
    }
  }
  // At one instant an end goes before a start: a slot handed on is not two at once.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (now += d));
  return most;
}

export function dispatchContract(env: ContractEnv): void {
  describe('claims', () => {
    it('claim within the pool\'s free slots and the type\'s concurrency', async () => {
      const h = await env.start({ workers: 2 });
      const s = h.supervisor;
      const solos = await s.submitMany(Array.from({ length: 6 }, () => ({ type: 'solo' })));
      // Many short runs beside them: slots free up while claims are in flight.
      const others = await s.submitMany(Array.from({ length: 40 }, () => ({ type: 'span', params: { ms: 5 } })));
      const all = [...solos, ...others].map((t) => t.id);
      for (const id of all) await h.events.ended(id);
      for (const id of all) expect(await s.get(id)).toMatchObject({ state: 'finished', runCount: 1 });
      expect(await mostAtOnce(h, solos.map((t) => t.id))).toBe(1);
      expect(await mostAtOnce(h, all)).toBeLessThanOrEqual(2);
    });

    it('among due tasks, the higher priority is claimed first', async () => {
      const h = await env.start({ workers: 1 });
      const s = h.supervisor;
      const marker = join(markerDir(), 'hold');
      const blocker = await s.submit({ type: 'hold', params: { marker } });
      await until(() => existsSync(marker));
      const low = await s.submit({ type: 'noop', priority: 0 });
      const high = await s.submit({ type: 'noop', priority: 5 });
      const mid = await s.submit({ type: 'noop', priority: 2 });
      await s.cancel(blocker.id);
      for (const t of [low, high, mid]) await h.events.ended(t.id);
      const order = h.events.all.flatMap((ev) => (ev.event === 'run.started' && ev.data.id !== blocker.id ? [ev.data.id] : []));
      expect(order).toEqual([high.id, mid.id, low.id]);
    });

    it('a task is claimed up to the claim lead ahead of its due time, but its run starts at it, never before', async () => {
      const h = await env.start({ workers: 2 });
      const s = h.supervisor;
      // Due times a few tens of ms apart: each is claimed on its own, ahead of it, and held.
      const first = Date.now() + 300;
      const dues = Array.from({ length: 20 }, (_, i) => first + i * 37);
      const tasks = await s.submitMany(dues.map((due) => ({ type: 'span', params: { ms: 1 }, schedule: { at: new Date(due).toISOString() } })));
      for (const t of tasks) await h.events.ended(t.id);
      for (const [i, t] of tasks.entries()) {
        const due = dues[i]!;
        const [run] = await s.runs(t.id);
        // The handler's own clock, the run record and its run.started event: none before the due time.
        expect((run!.output as { from: number }).from, t.id).toBeGreaterThanOrEqual(due);
        expect(Date.parse(run!.startedAt), t.id).toBeGreaterThanOrEqual(due);
        const started = h.events.all.flatMap((ev) => (ev.event === 'run.started' && ev.data.id === t.id ? [Date.parse(ev.data.startedAt)] : []));
        expect(started, t.id).toHaveLength(1);
        expect(started[0], t.id).toBeGreaterThanOrEqual(due);
      }
    });
  });
}
