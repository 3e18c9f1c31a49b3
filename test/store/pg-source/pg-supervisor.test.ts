import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../helpers/pg.js';
import { startPgRuntime, type PgRuntime } from '../../helpers/pg-supervisor.js';
import { waitForState } from '../../helpers/runtime.js';

let db: TestDatabase;
const runtimes: PgRuntime[] = [];

async function runtime(options?: Parameters<typeof startPgRuntime>[1]): Promise<PgRuntime> {
  const r = await startPgRuntime(db.url, options);
  runtimes.push(r);
  return r;
}

beforeEach(async () => {
  db = await createTestDatabase();
});

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop(0)));
  await db.drop();
});

describe('the supervisor on a PostgreSQL task source', () => {
  it('runs a submitted task to finished, with its run, history and counts read back from the database', async () => {
    const { supervisor } = await runtime();
    const t = await supervisor.submit({ type: 'echo', params: { b: 1, a: 'x\u0000y' } });
    const done = await waitForState(supervisor, t.id);
    expect(done).toMatchObject({ state: 'finished', runCount: 1, tries: 1, params: { b: 1, a: 'x\u0000y' } });
    const runs = await supervisor.runs(t.id);
    expect(runs).toMatchObject([{ run: 1, attempt: 1, state: 'finished' }]);
    expect((await supervisor.history(t.id)).map((h) => h.event)).toEqual(['submit', 'place', 'start', 'succeed']);
    expect(supervisor.stats().states.finished).toBe(1);
    expect((await supervisor.list({ type: 'echo' })).tasks.map((v) => v.id)).toEqual([t.id]);
  });

  it('returns the task a key already holds, and refuses the key with other params', async () => {
    const { supervisor } = await runtime();
    const a = await supervisor.submit({ type: 'sleep', params: { ms: 60_000 }, key: 'k1', schedule: { in: '1h' } });
    const again = await supervisor.submit({ type: 'sleep', params: { ms: 60_000 }, key: 'k1', schedule: { in: '1h' } });
    expect(again).toMatchObject({ id: a.id, existing: true });
    await expect(supervisor.submit({ type: 'sleep', params: { ms: 1 }, key: 'k1' })).rejects.toMatchObject({ code: 'KEY_CONFLICT' });
    const many = await supervisor.submitMany([{ type: 'noop', key: 'k2' }, { type: 'noop', key: 'k2' }]);
    expect(many[1]).toMatchObject({ id: many[0]!.id, existing: true });
  });

  it('cancels a running task: its handler is aborted and the run ends cancelled', async () => {
    const { supervisor } = await runtime();
    const t = await supervisor.submit({ type: 'sleep', params: { ms: 60_000 } });
    await waitForState(supervisor, t.id, ['running']);
    await supervisor.cancel(t.id);
    const done = await waitForState(supervisor, t.id);
    expect(done).toMatchObject({ state: 'failed', reason: 'cancelled' });
    expect((await supervisor.runs(t.id)).map((r) => r.state)).toEqual(['cancelled']);
  });

  it('two runtimes on one database: every task runs exactly once', async () => {
    const a = await runtime();
    const b = await runtime();
    const inputs = Array.from({ length: 200 }, () => ({ type: 'noop' }));
    const submitted = [...await a.supervisor.submitMany(inputs.slice(0, 100)), ...await b.supervisor.submitMany(inputs.slice(100))];
    // Events are each runtime's own (a task b ran says nothing on a's bus): poll the database.
    await expect.poll(async () => (await a.db.query<{ n: number }>("SELECT count(*)::int AS n FROM spindle_tasks WHERE state = 'finished'"))[0]!.n, { timeout: 30_000 }).toBe(200);
    const done = await a.supervisor.list({ limit: 1000 });
    expect(done.tasks.map((t) => t.id).sort()).toEqual(submitted.map((t) => t.id).sort());
    expect(done.tasks.every((t) => t.state === 'finished' && t.runCount === 1)).toBe(true);
    const runs = await a.db.query<{ n: number }>('SELECT count(*)::int AS n FROM spindle_runs');
    expect(runs[0]!.n).toBe(0);
  });

  it('a cancel made on one runtime aborts the run on the other (LISTEN/NOTIFY)', async () => {
    const a = await runtime();
    const t = await a.supervisor.submit({ type: 'sleep', params: { ms: 60_000 } });
    await waitForState(a.supervisor, t.id, ['running']);
    const b = await runtime();
    await b.supervisor.cancel(t.id);
    await expect.poll(() => a.executor.busy(), { timeout: 20_000 }).toBe(0);
    expect((await a.supervisor.runs(t.id)).map((r) => r.state)).toEqual(['cancelled']);
  });

  it('runs left by a runtime that stopped are lost tries another runtime retries', async () => {
    const a = await runtime({ leaseMs: 2000 });
    const t = await a.supervisor.submit({ type: 'sleep', params: { ms: 60_000 }, maxTries: 3 });
    await waitForState(a.supervisor, t.id, ['running']);
    const b = await runtime({ leaseMs: 2000 });
    // No grace: the handler is killed, its run stays `running` under a's lease.
    await a.stop(0);
    await expect.poll(async () => (await b.supervisor.get(t.id)).runCount, { timeout: 30_000 }).toBe(2);
    const runs = await b.supervisor.runs(t.id);
    expect(runs.map((r) => r.state)).toEqual(['lost', 'running']);
  });
});
