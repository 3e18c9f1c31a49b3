import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { until } from '../helpers/runtime.js';
import type { ContractEnv } from './contract.js';
import { markerDir } from './harness.js';

export function recoveryContract(env: ContractEnv): void {
  describe('recovery of abandoned runs', () => {
    it('a run left running by a stop that killed its handler is a lost try at the next open: retried while tries remain, else failed', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const dir = markerDir();
      const retried = await s.submit({ type: 'stubborn', params: { marker: join(dir, 'a') }, maxTries: 2 });
      const lost = await s.submit({ type: 'stubborn', params: { marker: join(dir, 'b') }, maxTries: 1 });
      // Both handlers are running (their markers written) and neither heeds its signal.
      await until(() => existsSync(join(dir, 'a')) && existsSync(join(dir, 'b')));
      expect(s.stats().states.running).toBe(2);

      const h2 = await env.restart(h, { graceMs: 0 });
      const s2 = h2.supervisor;
      expect(await s2.get(lost.id)).toMatchObject({ state: 'failed', reason: 'lost', tries: 1, runCount: 1 });
      expect((await s2.runs(lost.id)).map((r) => [r.run, r.attempt, r.state])).toEqual([[1, 1, 'lost']]);
      await h2.events.ended(retried.id);
      expect(await s2.get(retried.id)).toMatchObject({ state: 'finished', reason: null, tries: 2, runCount: 2 });
      const runs = await s2.runs(retried.id);
      expect(runs.map((r) => [r.run, r.attempt, r.state])).toEqual([[1, 1, 'lost'], [2, 2, 'finished']]);
      expect(runs[0]!.error).toMatchObject({ code: 'WORKER_EXITED' });
      expect(runs[1]!.output).toEqual({ attempt: 2 });
      expect((await s2.history(retried.id)).map((e) => `${e.event}:${e.to}`)).toEqual([
        'submit:spooled', 'place:queued', 'start:running', 'lose:queued', 'start:running', 'succeed:finished',
      ]);
      expect(s2.stats().states).toMatchObject({ running: 0, queued: 0, finished: 1, failed: 1 });

      // Recovered once: a further restart finds nothing abandoned.
      const h3 = await env.restart(h2);
      expect(await h3.supervisor.runs(lost.id)).toHaveLength(1);
      expect(await h3.supervisor.runs(retried.id)).toHaveLength(2);
    });

    it('a run killed after the stop\'s grace, its handler ignoring the signal, is lost the same way', async () => {
      const h = await env.start();
      const marker = join(markerDir(), 'c');
      const t = await h.supervisor.submit({ type: 'stubborn', params: { marker }, maxTries: 1 });
      await until(() => existsSync(marker));
      const h2 = await env.restart(h, { graceMs: 200 });
      expect(await h2.supervisor.get(t.id)).toMatchObject({ state: 'failed', reason: 'lost', lastRun: { state: 'lost' } });
      expect(h2.supervisor.stats().states).toMatchObject({ running: 0, failed: 1 });
    });

    it('a run whose handler settles on the stop\'s signal is interrupted, its try given back, and runs again at the next open', async () => {
      const h = await env.start();
      const marker = join(markerDir(), 'hold');
      const t = await h.supervisor.submit({ type: 'hold', params: { marker } });
      await until(() => existsSync(marker));
      const h2 = await env.restart(h, { graceMs: 10_000 });
      expect(existsSync(`${marker}.aborted`)).toBe(true);
      await h2.events.ended(t.id);
      const s2 = h2.supervisor;
      expect(await s2.get(t.id)).toMatchObject({ state: 'finished', tries: 1, runCount: 2 });
      expect((await s2.runs(t.id)).map((r) => [r.run, r.attempt, r.state, r.output])).toEqual([
        [1, 1, 'interrupted', null], [2, 1, 'finished', { again: true }],
      ]);
      expect((await s2.history(t.id)).map((e) => `${e.event}:${e.to}`)).toEqual([
        'submit:spooled', 'place:queued', 'start:running', 'interrupt:queued', 'start:running', 'succeed:finished',
      ]);
    });
  });
}
