import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../helpers/pg.js';
import { startPgRuntime, type PgRuntime } from '../../helpers/pg-supervisor.js';
import { waitForState } from '../../helpers/runtime.js';

let db: TestDatabase;
let runtime: PgRuntime | null = null;
let other: PgRuntime | null = null;
let blocker: pg.Client | null = null;

/**
 * Short enough to fence (at 70 %) soon after a test stops the renewals, long enough that a beat
 * (every quarter) slowed by a loaded machine does not: 1.5 s tolerated under 0.7 s of delay.
 */
const LEASE_MS = 5000;

beforeEach(async () => {
  db = await createTestDatabase();
});

afterEach(async () => {
  await blocker?.end().catch(() => undefined);
  blocker = null;
  await runtime?.stop(0);
  await other?.stop(0);
  runtime = null;
  other = null;
  await db.drop();
});

describe('leases on PostgreSQL', () => {
  it('a runtime that cannot renew its lease in time aborts its runs and claims nothing until it renews', async () => {
    runtime = await startPgRuntime(db.url, { leaseMs: LEASE_MS });
    const { supervisor, executor } = runtime;
    const t = await supervisor.submit({ type: 'sleep', params: { ms: 600_000 }, maxTries: 1 });
    await waitForState(supervisor, t.id, ['running']);
    expect(executor.busy()).toBe(1);

    // Another session holds the task's row: the heartbeat's UPDATE waits on it, so no renewal lands.
    blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT 1 FROM spindle_tasks WHERE id = $1 FOR UPDATE', [t.id]);
    // Self-fenced before the lease ran out: the handler was aborted though nobody cancelled it.
    await expect.poll(() => executor.busy(), { timeout: 20_000 }).toBe(0);
    const later = await supervisor.submit({ type: 'noop' });
    // Fenced: a claim takes nothing, though the no-op is due and a slot is free.
    const claimed = await runtime.source.claim({ pools: [{ free: 1, types: new Map([['noop', 1]]) }], start: () => { throw new Error('claimed while fenced'); } });
    expect(claimed).toEqual([]);
    expect(await supervisor.get(later.id)).toMatchObject({ state: 'queued' });
    await blocker.query('ROLLBACK');

    // Renewed once the row is free: the aborted run's end is recorded (its claim still held) as a
    // lost try, the store having stopped vouching for it, and claiming resumed.
    expect(await waitForState(supervisor, t.id)).toMatchObject({ state: 'failed', lastRun: { state: 'lost', error: { code: 'WORKER_EXITED' } } });
    expect(await waitForState(supervisor, later.id)).toMatchObject({ state: 'finished' });
  });

  it('a run whose lease ran out is a lost try: swept, retried once, and a runtime still running it stops it', async () => {
    runtime = await startPgRuntime(db.url, { leaseMs: LEASE_MS });
    const t = await runtime.supervisor.submit({ type: 'sleep', params: { ms: 600_000 }, maxTries: 2 });
    await waitForState(runtime.supervisor, t.id, ['running']);
    other = await startPgRuntime(db.url, { leaseMs: LEASE_MS });
    // As if the run's lease had run out and been taken while its runtime stalled: the row names
    // another owner, whose lease ended long ago (a live owner's heartbeat would renew it).
    await other.db.query("UPDATE spindle_tasks SET owner = 'a-runtime-that-stalled', lease_until = 0 WHERE id = $1", [t.id]);
    await expect.poll(async () => (await other!.supervisor.get(t.id)).runCount, { timeout: 20_000 }).toBe(2);
    expect((await other.supervisor.runs(t.id)).map((r) => [r.run, r.state])).toEqual([[1, 'lost'], [2, 'running']]);
    // The first run was stopped (its runtime no longer holds it); only the retry runs.
    await expect.poll(() => runtime!.executor.busy() + other!.executor.busy(), { timeout: 20_000 }).toBe(1);
    expect(await other.supervisor.get(t.id)).toMatchObject({ state: 'running', runCount: 2 });
  });

  it('a runtime started again under the same id takes back the runs its earlier process left at once, not after their lease', async () => {
    runtime = await startPgRuntime(db.url, { leaseMs: 600_000 });
    const t = await runtime.supervisor.submit({ type: 'sleep', params: { ms: 600_000 }, maxTries: 2 });
    await waitForState(runtime.supervisor, t.id, ['running']);
    // As a crashed process of runtime "b" leaves it: running under b's name, its lease ten minutes long.
    await runtime.db.query("UPDATE spindle_tasks SET owner = 'runtime-b', lease_until = lease_until + 600000 WHERE id = $1", [t.id]);
    other = await startPgRuntime(db.url, { leaseMs: 600_000, id: 'runtime-b' });
    // Recovered by the start itself: the lost try was written before start resolved.
    expect((await other.supervisor.runs(t.id)).map((r) => [r.run, r.state])[0]).toEqual([1, 'lost']);
    await expect.poll(async () => (await other!.supervisor.get(t.id)).runCount, { timeout: 20_000 }).toBe(2);
  });
});
