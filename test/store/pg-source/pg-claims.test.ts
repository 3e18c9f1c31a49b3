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
});
