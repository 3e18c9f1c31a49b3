import pg from 'pg';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { PgDatabase } from '../../../src/store/pg-source/pg-database.js';
import { PgSource } from '../../../src/store/pg-source/pg-source.js';
import { SWEEP_LOCK } from '../../../src/store/pg-source/retention-sweep.js';
import { pgTestBed, startPgRuntime, type PgRuntime } from '../../helpers/pg-supervisor.js';

/** A database of its own per test, and the runtimes it starts there (stopped, then dropped, after it). */
const bed = pgTestBed();

const count = async (db: PgDatabase, where = 'true'): Promise<number> =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM spindle_tasks WHERE ${where}`))[0]!.n;

/** What the count rows say of finished no-ops (a task deleted twice would take it below zero). */
const finishedCount = async (db: PgDatabase): Promise<number> =>
  (await db.query<{ n: number }>("SELECT coalesce(sum(n), 0)::int AS n FROM spindle_counts WHERE type = 'noop' AND state = 'finished'"))[0]!.n;

/**
 * `n` no-ops run to the end on a runtime of their own, which then stops; their retention (a
 * minute, so its sweep leaves them) is then moved into the past: all `n` are expired.
 */
async function expiredTasks(url: string, n: number): Promise<void> {
  const seeder = await startPgRuntime(url, { retentionMs: 60_000 });
  try {
    await seeder.supervisor.submitMany(Array.from({ length: n }, () => ({ type: 'noop' })));
    await expect.poll(() => count(seeder.db, "state = 'finished'"), { timeout: 60_000, interval: 100 }).toBe(n);
  } finally {
    await seeder.stop();
  }
}

/** Two sources on the database with no supervisor: their sweeps run only when the test calls them. */
async function bareSources(url: string): Promise<{ sources: [PgSource, PgSource]; db: PgDatabase; close(): Promise<void> }> {
  const log = pino({ level: 'silent' });
  const dbs = await Promise.all([0, 1].map(() => PgDatabase.open({ url, log, poolSize: 4 })));
  const sources = dbs.map((db) => new PgSource({ db, log, leaseMs: 5000 })) as [PgSource, PgSource];
  return {
    sources,
    db: dbs[0]!,
    close: async () => {
      await Promise.all(sources.map((s) => s.close()));
      await Promise.all(dbs.map((db) => db.close()));
    },
  };
}

describe('the retention sweep on PostgreSQL', () => {
  it('run by two runtimes at once, deletes each expired task once, a round at a time, until none is left', async () => {
    const n = 250;
    await expiredTasks(bed.db.url, n);
    const { sources, db, close } = await bareSources(bed.db.url);
    try {
      await db.query('UPDATE spindle_tasks SET expires_at = expires_at - 120000');
      expect(await finishedCount(db)).toBe(n);
      const removed = [0, 0];
      for (let round = 0; round < 100 && await count(db) > 0; round++) {
        const results = await Promise.all(sources.map((s) => s.sweep(40)));
        results.forEach((r, i) => { removed[i]! += r.removed; });
      }
      expect(await count(db)).toBe(0);
      expect(removed[0]! + removed[1]!).toBe(n);
      expect(await finishedCount(db)).toBe(0);
    } finally {
      await close();
    }
  }, 120_000);

  it('skips its round while another runtime holds the sweep, and sweeps once that one is done', async () => {
    await expiredTasks(bed.db.url, 30);
    const { sources: [source], db, close } = await bareSources(bed.db.url);
    // The lock as another runtime's sweep transaction holds it.
    const other = new pg.Client({ connectionString: bed.db.url });
    await other.connect();
    try {
      await db.query('UPDATE spindle_tasks SET expires_at = expires_at - 120000');
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock($1, $2)', [...SWEEP_LOCK]);
      expect(await source.sweep(100)).toEqual({ removed: 0, more: false });
      expect(await count(db)).toBe(30);
      await other.query('COMMIT');
      expect(await source.sweep(100)).toEqual({ removed: 30, more: false });
      expect(await count(db)).toBe(0);
      expect(await finishedCount(db)).toBe(0);
    } finally {
      await other.end();
      await close();
    }
  }, 120_000);

  it('on its timer in two runtimes, deletes every task past its retention, each counted by the one that swept it', async () => {
    bed.runtimes = await Promise.all([0, 1].map(() => startPgRuntime(bed.db.url, { retentionMs: 50 })));
    const [a, b] = bed.runtimes as [PgRuntime, PgRuntime];
    for (const [i, r] of [a, b, a, b].entries()) {
      await r.supervisor.submitMany(Array.from({ length: 75 }, (_, j) => ({ type: 'noop', key: `k-${i}-${j}` })));
    }
    await expect.poll(() => count(a.db), { timeout: 60_000, interval: 200 }).toBe(0);
    expect(a.supervisor.stats().swept + b.supervisor.stats().swept).toBe(300);
    expect(await finishedCount(a.db)).toBe(0);
  }, 120_000);
});
