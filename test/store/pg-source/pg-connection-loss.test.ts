import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { pgTestBed, startPgRuntime } from '../../helpers/pg-supervisor.js';

/** A database of its own per test, and the bed.runtimes it starts there (stopped, then dropped, after it). */
const bed = pgTestBed();

/** Ends every session on the test database but the caller's: what a server restart or a network cut does to the bed.runtimes. */
async function cutConnections(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

describe('a runtime whose database connections are cut', () => {
  it('reconnects: its pool and its listener come back, a running task finishes, and a cancel from another runtime still reaches a run', async () => {
    const a = await startPgRuntime(bed.db.url);
    const b = await startPgRuntime(bed.db.url);
    bed.runtimes = [a, b];
    // Either runtime may run it, and events are each runtime's own: states are polled.
    const state = async (id: string): Promise<string> => (await a.supervisor.get(id)).state;
    const running = await a.supervisor.submit({ type: 'sleep', params: { ms: 1500 } });
    await expect.poll(() => state(running.id), { timeout: 20_000 }).toBe('running');
    // Both pools' connections and both listeners.
    expect(await cutConnections(bed.db.url)).toBeGreaterThanOrEqual(2);

    // The run in flight ends and is recorded over a new connection.
    await expect.poll(() => state(running.id), { timeout: 20_000 }).toBe('finished');
    expect(await a.supervisor.get(running.id)).toMatchObject({ runCount: 1 });
    const t = await a.supervisor.submit({ type: 'sleep', params: { ms: 600_000 } });
    await expect.poll(async () => (await b.supervisor.get(t.id)).state, { timeout: 20_000 }).toBe('running');
    const runner = a.executor.busy() === 1 ? a : b;
    const other = runner === a ? b : a;
    await other.supervisor.cancel(t.id);
    await expect.poll(() => runner.executor.busy(), { timeout: 20_000 }).toBe(0);
    expect((await other.supervisor.runs(t.id)).map((r) => r.state)).toEqual(['cancelled']);
  });
});
