import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { until } from '../helpers/runtime.js';
import type { ContractEnv } from './contract.js';
import { markerDir } from './harness.js';

export function dispatchContract(env: ContractEnv): void {
  describe('claims', () => {
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
  });
}
