import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, type Runtime, type SpindleEvent } from '../../../src/index.js';
import { CHANNEL } from '../../../src/store/pg-source/notices.js';
import { WATCHERS_LOCK } from '../../../src/store/pg-source/watchers.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/pg.js';
import { startPgRuntime, type PgRuntime } from '../../helpers/pg-supervisor.js';
import { removeTempDirs, startRuntime, until, waitForState } from '../../helpers/runtime.js';

let db: TestDatabase | undefined;
const supervisors: PgRuntime[] = [];
const runtimes: Runtime[] = [];
const clients: Client[] = [];
const observers: pg.Client[] = [];

afterEach(async () => {
  await Promise.all(observers.splice(0).map((c) => c.end()));
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(runtimes.splice(0).map((r) => r.stop(0)));
  await Promise.all(supervisors.splice(0).map((r) => r.stop(0)));
  await db?.drop();
  db = undefined;
  removeTempDirs();
});

async function supervisorOn(url: string, options?: Parameters<typeof startPgRuntime>[1]): Promise<PgRuntime> {
  const r = await startPgRuntime(url, options);
  supervisors.push(r);
  return r;
}

/** Every payload sent on the channel, from a connection of the test's own. */
async function observe(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  observers.push(c);
  const payloads: string[] = [];
  c.on('notification', (msg) => payloads.push(msg.payload ?? ''));
  await c.connect();
  await c.query(`LISTEN ${CHANNEL}`);
  return payloads;
}

/** Submits `n` echo tasks and waits, without listening to events (that would make the runtime a watcher), until all finished. */
async function runEchoes(via: PgRuntime, n: number, reader: PgRuntime = via): Promise<string[]> {
  const ids = (await via.supervisor.submitMany(Array.from({ length: n }, (_, i) => ({ type: 'echo', params: { i } })))).map((t) => t.id);
  await until(async () => (await Promise.all(ids.map((id) => reader.supervisor.get(id)))).every((t) => t.state === 'finished'));
  return ids;
}

/** Polls a task's state without listening to events. */
async function untilState(r: PgRuntime, id: string, state: string): Promise<void> {
  await until(async () => (await r.supervisor.get(id)).state === state);
}

const eventPayloads = (payloads: readonly string[]): string[] => payloads.filter((p) => p.startsWith('e'));

describe('PostgreSQL runtimes announce events only while some runtime on the database listens', () => {
  it('sends no event payloads while nobody listens, sends them while a runtime listens, and stops once it has left', async () => {
    db = await createTestDatabase();
    const payloads = await observe(db.url);
    // `a`'s one worker is taken by a long task before `b` starts: everything else runs on `b`.
    const a = await supervisorOn(db.url, { workers: 1 });
    const hog = await a.supervisor.submit({ type: 'sleep', params: { ms: 600_000 } });
    await untilState(a, hog.id, 'running');
    const b = await supervisorOn(db.url);
    await until(() => !a.source.announcing && !b.source.announcing);

    let mark = payloads.length;
    await runEchoes(a, 10, b);
    await runEchoes(b, 10);
    // The runtimes told each other of due tasks, and carried no events.
    expect(payloads.length).toBeGreaterThan(mark);
    expect(eventPayloads(payloads.slice(mark))).toEqual([]);

    // A listener on `a`: `b` hears of it and announces; `a` sees the whole life of tasks run on `b`.
    const seen = new Map<string, string[]>();
    const unsubscribe = a.supervisor.subscribe({}, (ev: SpindleEvent) => {
      const id = (ev.data as { id: string }).id;
      seen.set(id, [...(seen.get(id) ?? []), ev.event === 'task.state' ? ev.data.to : ev.event]);
    });
    await until(() => b.source.announcing);
    const ids = (await b.supervisor.submitMany(Array.from({ length: 10 }, (_, i) => ({ type: 'echo', params: { i } })))).map((t) => t.id);
    await until(() => ids.every((id) => seen.get(id)?.length === 6));
    for (const id of ids) expect(seen.get(id)).toEqual(['spooled', 'queued', 'running', 'run.started', 'finished', 'run.ended']);
    expect(eventPayloads(payloads).length).toBeGreaterThan(0);

    // Gone, and after the debounce neither runtime announces: payloads stop again. Listeners
    // coming and going meanwhile (a CLI command's subscriptions) keep the lock rather than flap.
    unsubscribe();
    for (let i = 0; i < 5; i++) a.supervisor.subscribe({}, () => undefined)();
    expect(b.source.announcing).toBe(true);
    await until(() => !a.source.announcing && !b.source.announcing);
    mark = payloads.length;
    await runEchoes(b, 10);
    expect(payloads.length).toBeGreaterThan(mark);
    expect(eventPayloads(payloads.slice(mark))).toEqual([]);
    expect(payloads.filter((p) => p.includes('"watching":true'))).toHaveLength(1);
  });

  it('Client.wait resolves for a task another runtime ended before it knew anyone listened', async () => {
    db = await createTestDatabase();
    const payloads = await observe(db.url);
    const runtime = await startRuntime({ store: db.url, socket: true, workers: 1, lease: '5s' });
    runtimes.push(runtime);
    const client = await Client.connect({ data: runtime.options.data });
    clients.push(client);
    const hog = await client.submit({ type: 'sleep', params: { ms: 600_000 } });
    await waitForState(runtime, hog.id, ['running']);
    const b = await supervisorOn(db.url);
    // `waitForState` listened on the runtime; once it has been gone past the debounce, nobody listens.
    await until(() => !b.source.announcing);

    const t = await client.submit({ type: 'sleep', params: { ms: 3000 } });
    await untilState(b, t.id, 'running');
    // The gap made as long as the test needs: while another session holds the watchers lock
    // exclusively, the runtime's shared lock (and the notice sent with it) waits, so `b` does not learn.
    const admin = new pg.Client({ connectionString: db.url });
    observers.push(admin);
    await admin.connect();
    await admin.query('SELECT pg_advisory_lock($1, $2)', [...WATCHERS_LOCK]);
    const waited = client.wait(t.id);
    waited.catch(() => undefined);
    expect((await client.get(t.id)).state).toBe('running');
    await untilState(b, t.id, 'finished');
    expect(b.source.announcing).toBe(false);
    await admin.query('SELECT pg_advisory_unlock($1, $2)', [...WATCHERS_LOCK]);
    // The end was committed without its event; the wait resolves all the same (the replay once `b` must know).
    expect(await waited).toMatchObject({ id: t.id, state: 'finished', lastRun: { output: { slept: 3000 } } });
    expect(eventPayloads(payloads).filter((p) => p.includes(t.id))).toEqual([]);
  });

  it('a listener that comes while a write is on its way hears the end it makes of a task it follows, once that write commits', async () => {
    db = await createTestDatabase();
    const a = await supervisorOn(db.url, { workers: 1 });
    const t = await a.supervisor.submit({ type: 'sleep', params: { ms: 600_000 } });
    await untilState(a, t.id, 'running');
    await until(() => !a.source.announcing);
    const admin = new pg.Client({ connectionString: db.url });
    observers.push(admin);
    await admin.connect();
    // No later replay: the runtime's watchers lock waits behind this session's exclusive one.
    await admin.query('SELECT pg_advisory_lock($1, $2)', [...WATCHERS_LOCK]);
    // The cancel's write decides, then waits at its COMMIT (the counts go with it) until the table is free.
    await admin.query('BEGIN; LOCK TABLE spindle_counts IN EXCLUSIVE MODE');
    const cancelled = a.supervisor.cancel(t.id);
    await until(async () => (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'spindle_counts'::regclass`)).rows[0]!.n > 0);
    expect(a.source.announcing).toBe(false);
    // A waiter: subscribes, then reads the task, which has not ended yet as far as anyone reads.
    const ends: SpindleEvent[] = [];
    a.supervisor.subscribe({ taskId: t.id, types: ['task.state'] }, (ev) => ends.push(ev));
    expect((await a.supervisor.get(t.id)).state).toBe('running');
    await admin.query('COMMIT');
    await cancelled;
    expect(ends.map((ev) => ev.event === 'task.state' && [ev.data.from, ev.data.to, ev.data.reason])).toEqual([['running', 'failed', 'cancelled']]);
    await admin.query('SELECT pg_advisory_unlock($1, $2)', [...WATCHERS_LOCK]);
  });
});
