import { describe, expect, it } from 'vitest';
import type { ContractEnv } from './contract.js';
import type { Harness } from './harness.js';

const HOUR = 3_600_000;
const inFuture = (ms: number): { at: string } => ({ at: new Date(Date.now() + ms).toISOString() });
const ms = (iso: string | null | undefined): number => Date.parse(iso ?? '');

/** `event:to` of every history entry, with each entry's `from` checked against the previous `to`. */
async function historyOf(h: Harness, id: string): Promise<string[]> {
  const entries = await h.supervisor.history(id);
  let state = 'none';
  let at = 0;
  for (const e of entries) {
    expect(e.from).toBe(state);
    expect(ms(e.at)).toBeGreaterThanOrEqual(at);
    state = e.to;
    at = ms(e.at);
  }
  return entries.map((e) => `${e.event}:${e.to}`);
}

export function lifecycleContract(env: ContractEnv): void {
  describe('lifecycle', () => {
    it('a task goes queued → running → finished, with its run and every transition recorded in order', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const t = await s.submit({ type: 'echo', params: { n: 1, word: 'één' } });
      // Due at once: by the time the submit is answered, it may already be starting.
      expect(t).toMatchObject({ type: 'echo', existing: false, endedAt: null, reason: null });
      expect(['queued', 'running']).toContain(t.state);
      await h.events.ended(t.id);
      expect(h.events.moves(t.id)).toEqual(['none>spooled', 'spooled>queued', 'queued>running', 'running>finished']);

      const v = await s.get(t.id);
      expect(v).toMatchObject({ state: 'finished', reason: null, tries: 1, runCount: 1, occurrences: 1, nextRunAt: null, params: { n: 1, word: 'één' } });
      expect(v.lastRun).toMatchObject({ run: 1, attempt: 1, state: 'finished', output: { n: 1, word: 'één' }, error: null });
      expect(ms(v.endedAt)).toBeGreaterThanOrEqual(ms(v.lastRun!.startedAt));
      expect(await s.runs(t.id)).toEqual([v.lastRun]);
      expect(await historyOf(h, t.id)).toEqual(['submit:spooled', 'place:queued', 'start:running', 'succeed:finished']);
      expect((await s.list({ state: 'finished' })).tasks.map((x) => x.id)).toEqual([t.id]);
      expect((await s.list({ state: 'queued' })).tasks).toEqual([]);

      // What was written is what a new source reads.
      const h2 = await env.restart(h);
      expect(await h2.supervisor.get(t.id)).toEqual(v);
      expect(await h2.supervisor.runs(t.id)).toEqual([v.lastRun]);
      expect(await historyOf(h2, t.id)).toEqual(['submit:spooled', 'place:queued', 'start:running', 'succeed:finished']);
    });

    it('a task with many occurrences keeps every run and its whole history, in order, across a restart', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const n = 40;
      const t = await s.submit({ type: 'noop', schedule: { every: '20ms', count: n }, misfire: 'all' });
      // Read while it runs: no read misses a run or history entries whose write is landing (runs
      // replaced by the next, history spilled to a chunk), so each read holds at least the last.
      let running = true;
      const seen = { history: 0, runs: 0 };
      let failed: unknown = null;
      const reads = (async () => {
        while (running) {
          const [history, runs] = await Promise.all([s.history(t.id), s.runs(t.id)]);
          expect(history.length).toBeGreaterThanOrEqual(seen.history);
          expect(runs.map((r) => r.run)).toEqual(Array.from({ length: runs.length }, (_, i) => i + 1));
          expect(runs.length).toBeGreaterThanOrEqual(seen.runs);
          seen.history = history.length;
          seen.runs = runs.length;
        }
      })().catch((err: unknown) => { failed = err; });
      await h.events.ended(t.id);
      running = false;
      await reads;
      expect(failed).toBeNull();
      expect(seen.runs).toBeGreaterThan(0);
      const v = await s.get(t.id);
      expect(v).toMatchObject({ state: 'finished', reason: 'exhausted', runCount: n, occurrences: n });
      const runs = await s.runs(t.id);
      expect(runs.map((r) => [r.run, r.attempt, r.state])).toEqual(Array.from({ length: n }, (_, i) => [i + 1, 1, 'finished']));
      const expected = ['submit:spooled', 'place:queued'];
      for (let i = 0; i < n; i++) expected.push('start:running', i < n - 1 ? 'succeed:queued' : 'succeed:finished');
      expect(await historyOf(h, t.id)).toEqual(expected);
      expect((await s.runs(t.id, n - 3)).map((r) => r.run)).toEqual([n - 2, n - 1, n]);
      expect((await s.history(t.id, expected.length - 2)).map((e) => `${e.event}:${e.to}`)).toEqual(expected.slice(-2));

      const h2 = await env.restart(h);
      expect(await historyOf(h2, t.id)).toEqual(expected);
      expect(await h2.supervisor.runs(t.id)).toEqual(runs);
    });

    it('lists newest first in pages, filtered by state and type; pending lists queued unpaused tasks in due order', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const a = await s.submit({ type: 'noop', schedule: inFuture(3 * HOUR) });
      const b = await s.submit({ type: 'echo', schedule: inFuture(1 * HOUR) });
      const c = await s.submit({ type: 'noop', schedule: inFuture(2 * HOUR) });
      const d = await s.submit({ type: 'echo', schedule: inFuture(4 * HOUR) });
      const e = await s.submit({ type: 'noop' });
      await h.events.ended(e.id);
      await s.pause(d.id);

      const seen: string[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await s.list({ limit: 2, ...(cursor !== undefined ? { cursor } : {}) });
        expect(page.tasks.length).toBeLessThanOrEqual(2);
        seen.push(...page.tasks.map((x) => x.id));
        if (page.cursor === null) break;
        cursor = page.cursor;
      }
      expect(seen).toEqual([e.id, d.id, c.id, b.id, a.id]);
      expect((await s.list({ type: 'echo' })).tasks.map((x) => x.id)).toEqual([d.id, b.id]);
      expect((await s.list({ state: 'queued', type: 'noop' })).tasks.map((x) => x.id)).toEqual([c.id, a.id]);
      expect((await s.pending()).map((x) => x.id)).toEqual([b.id, c.id, a.id]);
      expect((await s.pending({ type: 'noop' })).map((x) => x.id)).toEqual([c.id, a.id]);
      expect((await s.pending({ limit: 1 })).map((x) => x.id)).toEqual([b.id]);

      const h2 = await env.restart(h);
      expect((await h2.supervisor.pending()).map((x) => x.id)).toEqual([b.id, c.id, a.id]);
      expect((await h2.supervisor.list({ state: 'finished' })).tasks.map((x) => x.id)).toEqual([e.id]);
    });

    it('counts tasks per state and type after a mix of ends, and the same after a restart', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const done = [await s.submit({ type: 'noop' }), await s.submit({ type: 'noop' })];
      const failed = await s.submit({ type: 'flaky', maxTries: 1 });
      const cancelled = await s.submit({ type: 'noop', schedule: inFuture(HOUR) });
      await s.cancel(cancelled.id);
      const timedOut = await s.submit({ type: 'slow', maxTries: 1 });
      await s.submit({ type: 'noop', schedule: inFuture(HOUR) });
      const paused = await s.submit({ type: 'echo', schedule: inFuture(2 * HOUR) });
      await s.pause(paused.id);
      for (const t of [...done, failed, timedOut]) await h.events.ended(t.id);

      const states = { spooled: 0, queued: 2, running: 0, finished: 2, failed: 2, terminated: 1 };
      const types = { noop: { finished: 2, failed: 1, queued: 1 }, flaky: { failed: 1 }, slow: { terminated: 1 }, echo: { queued: 1 } };
      expect(s.stats().states).toEqual(states);
      expect(s.stats().types).toEqual(types);

      const h2 = await env.restart(h);
      expect(h2.supervisor.stats().states).toEqual(states);
      expect(h2.supervisor.stats().types).toEqual(types);
    });
  });

  describe('retries', () => {
    it('a failing run is retried after its backoff until maxTries, and the last failure ends it failed', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const t = await s.submit({ type: 'flaky' });
      await h.events.ended(t.id);
      expect(await s.get(t.id)).toMatchObject({ state: 'failed', reason: 'error', tries: 3, runCount: 3, maxTries: 3 });
      const runs = await s.runs(t.id);
      expect(runs.map((r) => [r.run, r.attempt, r.state])).toEqual([[1, 1, 'failed'], [2, 2, 'failed'], [3, 3, 'failed']]);
      runs.forEach((r, i) => expect(r.error?.message).toContain(`attempt ${i + 1} fails on purpose`));
      // retry: { delay: 150ms, backoff: 2, jitter: 0 }: try 2 waits 150 ms after try 1 ended, try 3 300 ms after try 2.
      expect(ms(runs[1]!.startedAt) - ms(runs[0]!.endedAt)).toBeGreaterThanOrEqual(150);
      expect(ms(runs[2]!.startedAt) - ms(runs[1]!.endedAt)).toBeGreaterThanOrEqual(300);
      expect(await historyOf(h, t.id)).toEqual([
        'submit:spooled', 'place:queued', 'start:running', 'fail:queued', 'start:running', 'fail:queued', 'start:running', 'fail:failed',
      ]);
    });

    it('a retry that succeeds finishes the task; a submit\'s own maxTries overrides its type\'s', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const later = await s.submit({ type: 'flaky', params: { succeedOn: 2 } });
      const once = await s.submit({ type: 'flaky', params: { succeedOn: 2 }, maxTries: 1 });
      await h.events.ended(later.id);
      await h.events.ended(once.id);
      expect(await s.get(later.id)).toMatchObject({ state: 'finished', tries: 2, runCount: 2 });
      expect((await s.runs(later.id)).map((r) => [r.attempt, r.state, r.output])).toEqual([[1, 'failed', null], [2, 'finished', { attempt: 2 }]]);
      expect(await s.get(once.id)).toMatchObject({ state: 'failed', reason: 'error', tries: 1, runCount: 1 });
    });

    it('a run past its timeout is retried, and the last one ends the task terminated', async () => {
      const h = await env.start();
      const s = h.supervisor;
      const t = await s.submit({ type: 'slow' });
      await h.events.ended(t.id);
      expect(await s.get(t.id)).toMatchObject({ state: 'terminated', reason: 'timeout', tries: 2, runCount: 2 });
      expect((await s.runs(t.id)).map((r) => [r.attempt, r.state, r.error?.code])).toEqual([[1, 'timeout', 'TIMEOUT'], [2, 'timeout', 'TIMEOUT']]);
      expect(await historyOf(h, t.id)).toEqual([
        'submit:spooled', 'place:queued', 'start:running', 'time_out:queued', 'start:running', 'time_out:terminated',
      ]);
    });
  });
}
