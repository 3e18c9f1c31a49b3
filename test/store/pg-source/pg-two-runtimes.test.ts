import { describe, expect, it } from 'vitest';
import { taskOfColumn } from '../../../src/store/pg-source/rows.js';
import { pgTestBed, startPgRuntime, type PgRuntime } from '../../helpers/pg-supervisor.js';

/** A database of its own per test, and the bed.runtimes it starts there (stopped, then dropped, after it). */
const bed = pgTestBed();

/**
 * 2,000 runs through two runtimes of 2 threads each took 17 s on an idle 2-core machine and 47–62 s
 * with both cores busy elsewhere: the whole test gets well past that, and its own waits bound it.
 */
const TEST_MS = 300_000;

describe('two bed.runtimes sharing one PostgreSQL database', () => {
  it('run 2,000 no-op tasks between them: each exactly once, none lost', async () => {
    bed.runtimes = [await startPgRuntime(bed.db.url, { workers: 2 }), await startPgRuntime(bed.db.url, { workers: 2 })];
    const [a, b] = bed.runtimes as [PgRuntime, PgRuntime];
    // Each runtime's listener hears every start, its own and (through the database) the other's.
    const started = bed.runtimes.map(() => [] as string[]);
    bed.runtimes.forEach((r, i) => r.supervisor.subscribe({ types: ['run.started'] }, (ev) => {
      if (ev.event === 'run.started') started[i]!.push(ev.data.id);
    }));
    const ran = bed.runtimes.map((r) => {
      let n = 0;
      const run = r.executor.run.bind(r.executor);
      r.executor.run = (job, handlers) => { n++; run(job, handlers); };
      return () => n;
    });
    const ids: string[] = [];
    // Submitted through both, in batches, while both already run what is due.
    for (let i = 0; i < 20; i++) {
      const via = i % 2 === 0 ? a : b;
      const batch = await via.supervisor.submitMany(Array.from({ length: 100 }, () => ({ type: 'noop' })));
      ids.push(...batch.map((t) => t.id));
    }
    expect(new Set(ids).size).toBe(2000);
    const finished = async (): Promise<number> =>
      (await a.db.query<{ n: number }>("SELECT count(*)::int AS n FROM spindle_tasks WHERE state = 'finished'"))[0]!.n;
    await expect.poll(finished, { timeout: 200_000, interval: 200 }).toBe(2000);

    const rows = (await a.db.query<{ state: string; record: string; run: number }>('SELECT state, record, run FROM spindle_tasks')).map((r) => {
      const rec = taskOfColumn(r.record);
      return { state: r.state, runs: rec.runCount, run: r.run, last: rec.lastRun?.state };
    });
    expect(rows).toHaveLength(2000);
    // One run each: started once (runCount 1, run 1), ended once, finished; no earlier run was kept.
    expect(rows.filter((r) => r.state !== 'finished' || r.runs !== 1 || r.run !== 1 || r.last !== 'finished')).toEqual([]);
    expect((await a.db.query<{ n: number }>('SELECT count(*)::int AS n FROM spindle_runs'))[0]!.n).toBe(0);
    // Started 2,000 times in all, each task once, and both bed.runtimes took part.
    await expect.poll(() => started.map((s) => s.length), { timeout: 30_000 }).toEqual([2000, 2000]);
    expect(started.map((s) => new Set(s).size)).toEqual([2000, 2000]);
    expect(ran[0]!() + ran[1]!()).toBe(2000);
    expect(ran.every((n) => n() > 0)).toBe(true);
  }, TEST_MS);
});
