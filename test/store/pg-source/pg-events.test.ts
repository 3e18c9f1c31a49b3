import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, type Runtime, type SpindleEvent } from '../../../src/index.js';
import { MAX_PAYLOAD_BYTES } from '../../../src/store/pg-source/notices.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/pg.js';
import { eventLine, startPgRuntime, type PgRuntime } from '../../helpers/pg-supervisor.js';
import { removeTempDirs, startRuntime, until, waitForState } from '../../helpers/runtime.js';

let db: TestDatabase | undefined;
const supervisors: PgRuntime[] = [];
const runtimes: Runtime[] = [];
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(runtimes.splice(0).map((r) => r.stop(0)));
  await Promise.all(supervisors.splice(0).map((r) => r.stop(0)));
  await db?.drop();
  db = undefined;
  removeTempDirs();
});

async function database(): Promise<TestDatabase> {
  db = await createTestDatabase();
  return db;
}

async function supervisorOn(url: string, options?: Parameters<typeof startPgRuntime>[1]): Promise<PgRuntime> {
  const r = await startPgRuntime(url, options);
  supervisors.push(r);
  return r;
}

/** A runtime on the database with a socket and one worker, kept busy by a long task of its own: whatever is submitted next runs elsewhere. */
async function busyRuntime(url: string): Promise<{ runtime: Runtime; client: Client }> {
  const runtime = await startRuntime({ store: url, socket: true, workers: 1, lease: '5s' });
  runtimes.push(runtime);
  const client = await Client.connect({ data: runtime.options.data });
  clients.push(client);
  const hog = await client.submit({ type: 'sleep', params: { ms: 600_000 } });
  await waitForState(runtime, hog.id, ['running']);
  return { runtime, client };
}

function recorder(r: { subscribe: Runtime['subscribe'] }): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  r.subscribe({}, (ev) => {
    const id = (ev.data as { id: string }).id;
    seen.set(id, [...(seen.get(id) ?? []), eventLine(ev)]);
  });
  return seen;
}

const ONE_RUN = ['state none>spooled', 'state spooled>queued', 'state queued>running', 'started 1', 'state running>finished', 'ended 1 finished'];

describe('events across runtimes on one PostgreSQL database (LISTEN/NOTIFY)', () => {
  it('a listener on one runtime sees every transition and run of tasks run on the other, once each and in order', async () => {
    const { url } = await database();
    const a = await supervisorOn(url);
    const b = await supervisorOn(url);
    const seenA = recorder(a.supervisor);
    const seenB = recorder(b.supervisor);
    const ranOn = [a, b].map((r) => {
      const ids = new Set<string>();
      const run = r.executor.run.bind(r.executor);
      r.executor.run = (job, handlers) => { ids.add(job.taskId); run(job, handlers); };
      return ids;
    });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const via = i % 2 === 0 ? a : b;
      ids.push(...(await via.supervisor.submitMany(Array.from({ length: 50 }, (_, n) => ({ type: 'echo', params: { i, n } })))).map((t) => t.id));
    }
    await until(() => ids.every((id) => seenA.get(id)?.length === ONE_RUN.length && seenB.get(id)?.length === ONE_RUN.length));
    // Both ran some of them, and both listeners saw each task's whole life exactly once, in order.
    expect(ranOn.every((s) => s.size > 0)).toBe(true);
    expect(ranOn[0]!.size + ranOn[1]!.size).toBe(200);
    for (const id of ids) {
      expect(seenA.get(id)).toEqual(ONE_RUN);
      expect(seenB.get(id)).toEqual(ONE_RUN);
    }
    // The event itself, not just its kind, comes through: times and outputs as the runtime that ran it announced them.
    const ended: SpindleEvent[] = [];
    const unsubscribe = a.supervisor.subscribe({ types: ['run.ended'] }, (ev) => ended.push(ev));
    const t = await b.supervisor.submit({ type: 'echo', params: { hello: 'wörld' } });
    const done = await waitForState(a.supervisor, t.id);
    await until(() => ended.some((ev) => (ev.data as { id: string }).id === t.id));
    unsubscribe();
    const run = done.lastRun!;
    expect(ended.find((ev) => (ev.data as { id: string }).id === t.id)).toEqual({
      event: 'run.ended',
      data: {
        id: t.id, type: 'echo', attempt: 1, run: 1, state: 'finished', output: { hello: 'wörld' },
        startedAt: run.startedAt, endedAt: run.endedAt, durationMs: run.durationMs, worker: run.worker,
      },
    });
  });

  it('Client.wait on one runtime returns a task that ran on another, an output too large for a notice included', async () => {
    const { url } = await database();
    const { runtime, client } = await busyRuntime(url);
    const b = await supervisorOn(url);
    const ended: SpindleEvent[] = [];
    runtime.subscribe({ types: ['run.ended'] }, (ev) => ended.push(ev));
    const small = await client.submit({ type: 'echo', params: { n: 1 } });
    expect(await client.wait(small.id)).toMatchObject({ state: 'finished', lastRun: { output: { n: 1 } } });
    const big = 'x'.repeat(3 * MAX_PAYLOAD_BYTES);
    const large = await client.submit({ type: 'echo', params: { big } });
    expect(await client.wait(large.id)).toMatchObject({ state: 'finished', lastRun: { output: { big } } });
    // Both ran on the other runtime (this one's only worker is busy); the large output was left out of the event, and the event says so.
    expect((await b.supervisor.runs(large.id))[0]).toMatchObject({ state: 'finished' });
    await until(() => ended.length === 2);
    expect(ended.map((ev) => ev.data)).toMatchObject([
      { id: small.id, state: 'finished', output: { n: 1 } },
      { id: large.id, state: 'finished', truncated: true },
    ]);
    expect('output' in ended[1]!.data).toBe(false);
  });

  it('Client.wait resolves when the task ended while its runtime\'s listener connection was down', async () => {
    const { url } = await database();
    const { client } = await busyRuntime(url);
    const b = await supervisorOn(url);
    const t = await client.submit({ type: 'sleep', params: { ms: 1500 } });
    await waitForState(b.supervisor, t.id, ['running']);
    const waited = client.wait(t.id);
    waited.catch(() => undefined);
    await client.get(t.id);
    // No new connection to the database until the task has ended on `b`: the listeners are cut
    // off and cannot come back, so the end's notice is lost to the runtime.
    const server = new URL(url);
    const name = server.pathname.slice(1);
    server.pathname = '/postgres';
    const admin = new pg.Client({ connectionString: server.toString() });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      // A listener connection's last statement is its LISTEN, or the watchers lock its runtime took on it.
      const cut = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1
        AND (query = 'LISTEN spindle' OR query LIKE '%pg_advisory_lock_shared%')`, [name]);
      expect(cut.rowCount).toBe(2);
      await waitForState(b.supervisor, t.id);
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    expect(await waited).toMatchObject({ id: t.id, state: 'finished', lastRun: { output: { slept: 1500 } } });
  });
});
