import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../../src/task/record.js';
import { pgTestBed, startPgRuntime } from '../../helpers/pg-supervisor.js';
import { waitForState } from '../../helpers/runtime.js';

const bed = pgTestBed();

describe('claims on PostgreSQL', () => {
  it('two claims made in the same turn share a transaction and never take the same task', async () => {
    const runtime = await startPgRuntime(bed.db.url, { workers: 1 });
    bed.runtimes.push(runtime);
    const { supervisor, source } = runtime;
    // The runtime's one slot is busy, so the no-ops stay queued for the claims below.
    const busy = await supervisor.submit({ type: 'sleep', params: { ms: 600_000 }, maxTries: 1 });
    await waitForState(supervisor, busy.id, ['running']);
    const ids = new Set<string>();
    for (let i = 0; i < 10; i++) ids.add((await supervisor.submit({ type: 'noop' })).id);

    const start = (rec: Parameters<Parameters<typeof source.claim>[0]['start']>[0], w: { now: number }): RunRecord => {
      const run: RunRecord = {
        v: 1, taskId: rec.id, run: 1, attempt: 1, state: 'running', startedAt: w.now, endedAt: null, durationMs: null, worker: null, output: null, error: null, progress: null,
      };
      rec.state = 'running';
      rec.lastRun = run;
      rec.updatedAt = w.now;
      return run;
    };
    const request = { pools: [{ free: 8, types: new Map([['noop', 8]]) }], start };
    // Asked in the same turn: the group commit puts both in one transaction.
    const [a, b] = await Promise.all([source.claim(request), source.claim(request)]);
    const claimed = [...a, ...b].map((c) => c.rec.id);
    expect(a).toHaveLength(8);
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(new Set(claimed)).toEqual(ids);
  });

  it('claims a task up to the claim lead before its due time (the database\'s), and its run starts at the due time', async () => {
    const runtime = await startPgRuntime(bed.db.url, { workers: 2 });
    bed.runtimes.push(runtime);
    const { supervisor, source } = runtime;
    const first = Math.ceil(source.now()) + 300;
    const dues = Array.from({ length: 10 }, (_, i) => first + i * 61);
    const far = await supervisor.submit({ type: 'noop', schedule: { at: new Date(first + 3_600_000).toISOString() } });
    const tasks = await supervisor.submitMany(dues.map((due) => ({ type: 'noop', schedule: { at: new Date(due).toISOString() } })));
    let ahead = 0;
    for (const [i, t] of tasks.entries()) {
      const due = dues[i]!;
      await waitForState(supervisor, t.id);
      const [run] = await supervisor.runs(t.id);
      expect(Date.parse(run!.startedAt), t.id).toBeGreaterThanOrEqual(due);
      const start = (await supervisor.history(t.id)).find((h) => h.event === 'start')!;
      // Written ahead of the due time: the run still starts at it.
      if (Date.parse(start.at) < due) {
        ahead++;
        expect(Date.parse(run!.startedAt), t.id).toBe(due);
      }
    }
    // Each due time wakes this runtime its lead ahead (4 ms at least), so the claims land before them;
    // one late timer on a loaded machine may not, ten spread over 0.6 s all late would be a fault.
    expect(ahead).toBeGreaterThan(0);
    expect(await supervisor.get(far.id)).toMatchObject({ state: 'queued', runCount: 0 });
  });
});
