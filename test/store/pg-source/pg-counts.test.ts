import { describe, expect, it } from 'vitest';
import type { StateCounts } from '../../../src/store/store.js';
import { pgTestBed, startPgRuntime, type PgRuntime } from '../../helpers/pg-supervisor.js';

/** A database of its own per test, and the runtimes it starts there (stopped, then dropped, after it). */
const bed = pgTestBed();

type Table = Record<string, StateCounts>;

/** What a count of the tasks themselves says: per type and state, and the paused open tasks per type. */
async function countedFromTasks(r: PgRuntime): Promise<{ counts: Table; paused: Record<string, number> }> {
  const rows = await r.db.query<{ type: string; state: string; n: number; paused: number }>(`SELECT type, state, count(*)::int AS n,
    (count(*) FILTER (WHERE paused AND state IN ('spooled', 'queued', 'running')))::int AS paused FROM spindle_tasks GROUP BY type, state`);
  return tables(rows);
}

/** What the count rows say. */
async function countRows(r: PgRuntime): Promise<{ counts: Table; paused: Record<string, number> }> {
  const rows = await r.db.query<{ type: string; state: string; n: number; paused: number }>(`SELECT type, state, sum(n)::int AS n,
    coalesce(sum(n) FILTER (WHERE paused), 0)::int AS paused FROM spindle_counts GROUP BY type, state`);
  return tables(rows);
}

function tables(rows: Array<{ type: string; state: string; n: number; paused: number }>): { counts: Table; paused: Record<string, number> } {
  const counts: Table = {};
  const paused: Record<string, number> = {};
  for (const r of rows) {
    if (r.n !== 0) (counts[r.type] ??= {})[r.state as keyof StateCounts] = r.n;
    if (r.paused !== 0) paused[r.type] = (paused[r.type] ?? 0) + r.paused;
  }
  return { counts, paused };
}

/** A runtime's counts as stats read them, without the states at zero. */
function cached(r: PgRuntime, types: readonly string[]): { counts: Table; paused: Record<string, number> } {
  const counts: Table = {};
  for (const [type, c] of r.source.reader.counts()) {
    for (const [state, n] of Object.entries(c)) if (n !== 0) (counts[type] ??= {})[state as keyof StateCounts] = n;
  }
  const paused: Record<string, number> = {};
  for (const type of types) {
    const n = r.source.reader.paused(type);
    if (n !== 0) paused[type] = n;
  }
  return { counts, paused };
}

/** Every operation a client has, on whichever task it names; refusals (the task not in a state for it) are part of the mix. */
async function churn(r: PgRuntime, rounds: number, pool: string[]): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    // Sleeps are short: a retried one is due at once and runs. `held` stays paused and `idle` queued to the end.
    const [, , failing, , later, recurring, held] = await r.supervisor.submitMany([
      { type: 'noop' }, { type: 'noop' }, { type: 'throws', maxTries: 1 }, { type: 'sleep', params: { ms: 30 } },
      { type: 'sleep', params: { ms: 30 }, schedule: { in: '1h' } }, { type: 'noop', schedule: { every: '1h' } },
      { type: 'sleep', params: { ms: 30 }, schedule: { in: '1h' } }, { type: 'sleep', params: { ms: 30 }, schedule: { in: '1h' } },
    ]);
    pool.push(failing!.id, later!.id);
    // Another runtime's tasks as often as this one's.
    const other = pool[(i * 7919) % pool.length]!;
    await Promise.allSettled([
      r.supervisor.pause(later!.id).then(() => (i % 2 === 0 ? r.supervisor.resume(later!.id) : r.supervisor.cancel(later!.id))),
      r.supervisor.cancel(recurring!.id),
      r.supervisor.pause(held!.id),
      r.supervisor.retry(other),
      r.supervisor.pause(other),
      r.supervisor.delete(pool[(i * 104729) % pool.length]!),
    ]);
  }
}

describe('task counts kept as rows', () => {
  it('equal a count of the tasks after many concurrent transactions from 3 runtimes, and so do each runtime\'s stats', async () => {
    // Retention on one runtime: the tasks it ends are swept (deleted) by any of them.
    bed.runtimes = await Promise.all([300, null, null].map((retentionMs) => startPgRuntime(bed.db.url, { workers: 2, retentionMs })));
    const pool: string[] = [];
    await Promise.all(bed.runtimes.map((r, i) => churn(r, 25 + i, pool)));
    const [a] = bed.runtimes as [PgRuntime];
    // Settled: nothing spooled or running, nothing due, nothing left to sweep.
    await expect.poll(async () => (await a.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM spindle_tasks
      WHERE state IN ('spooled', 'running') OR (state = 'queued' AND NOT paused AND next_run_at <= floor(extract(epoch from now()) * 1000))
      OR expires_at IS NOT NULL`))[0]!.n, { timeout: 60_000, interval: 200 }).toBe(0);
    await Promise.all(bed.runtimes.map((r) => r.source.flushed()));

    const truth = await countedFromTasks(a);
    // The churn reached every state and both sides of the paused flag.
    expect(Object.keys(truth.counts).sort()).toEqual(['noop', 'sleep', 'throws']);
    expect(truth.counts.noop).toMatchObject({ finished: expect.any(Number), failed: expect.any(Number) });
    expect(truth.counts.sleep!.queued).toBeGreaterThanOrEqual(2 * 75);
    expect(truth.paused.sleep).toBeGreaterThanOrEqual(75);
    expect(await countRows(a)).toEqual(truth);
    // Each runtime's copy: read from the rows at its next refresh (at most a second old).
    for (const r of bed.runtimes) {
      await expect.poll(() => cached(r, ['noop', 'sleep', 'throws']), { timeout: 10_000, interval: 100 }).toEqual(truth);
    }
  }, 180_000);
});
