import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, type ClientEvent } from '../../src/index.js';
import { WATCHERS_LOCK } from '../../src/store/pg-source/watchers.js';
import { background, type Background, killBackground, spindle, spindleJson, startRuntime } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir, until } from '../helpers/runtime.js';

let db: TestDatabase | undefined;
const processes: Background[] = [];
const clients: Client[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const p of processes.splice(0)) await killBackground(p);
  await db?.drop();
  db = undefined;
  removeTempDirs();
});

describe('spindle watch and submit --wait on one runtime see what another runtime on the same PostgreSQL database did (the real CLI)', () => {
  it('prints the start and the end of a task run by the other runtime, and --wait returns its output', async () => {
    db = await createTestDatabase();
    const [a, b] = [tempDir(), tempDir()];
    // `a` has one worker, taken by a long task before `b` starts: whatever comes next runs on `b`.
    processes.push(await startRuntime(a, FIXTURE_TASKS, ['--store', db.url, '--lease', '5s', '--workers', '1']));
    const hog = await spindleJson<{ id: string }>(['submit', 'sleep', '--data', a, '--params', '{"ms":600000}']);
    await until(async () => (await spindleJson<{ state: string }>(['show', hog.id, '--data', a])).state === 'running');
    processes.push(await startRuntime(b, FIXTURE_TASKS, ['--store', db.url, '--lease', '5s']));

    const watch = background(['watch', '--data', a, '--type', 'echo', '--json']);
    processes.push(watch);
    await watch.printed('watching');
    const waited = await spindle(['submit', 'echo', '--data', a, '--params', '{"from":"b"}', '--wait', '--json']);
    expect(waited.code, waited.stderr).toBe(0);
    const done = JSON.parse(waited.stdout) as { id: string; state: string; lastRun: { output: unknown } };
    expect(done).toMatchObject({ state: 'finished', lastRun: { output: { from: 'b' } } });
    await watch.printed('"event":"run.ended"');
    const events = watch.stdout().trim().split('\n').map((l) => JSON.parse(l) as { event: string; data: { id: string; to?: string; output?: unknown } });
    expect(events.map((e) => [e.event, e.data.id, e.data.to])).toEqual([
      ['task.state', done.id, 'spooled'],
      ['task.state', done.id, 'queued'],
      ['task.state', done.id, 'running'],
      ['run.started', done.id, undefined],
      ['task.state', done.id, 'finished'],
      ['run.ended', done.id, undefined],
    ]);
    expect(events[5]!.data.output).toEqual({ from: 'b' });
    // It ran on `b`: `a`'s one worker is still busy with the long task.
    expect(await spindleJson<{ state: string }>(['show', hog.id, '--data', b])).toMatchObject({ state: 'running' });
  });
});

describe('spindle watch --id on PostgreSQL (the real CLI)', () => {
  it('prints a task\'s end once, and a client gets it once, when the runtime replays the ends it may have missed after its listener connection was lost', async () => {
    db = await createTestDatabase();
    const data = tempDir();
    const runtime = await startRuntime(data, FIXTURE_TASKS, ['--store', db.url, '--lease', '5s']);
    processes.push(runtime);
    const replays = (): number => runtime.output().split('replayed the ends of tasks followed by id').length - 1;
    const show = async (id: string): Promise<string> => (await spindleJson<{ state: string }>(['show', id, '--data', data])).state;
    // Ended while nobody listened: the runtime announces its end to whoever follows it by id once
    // the first listener came (LEARN_MS later), which tells this test when that first replay is over.
    const early = await spindleJson<{ id: string }>(['submit', 'noop', '--data', data]);
    await until(async () => await show(early.id) === 'finished', { ms: 30_000, what: 'the no-op to finish' });
    const task = await spindleJson<{ id: string }>(['submit', 'sleep', '--data', data, '--params', '{"ms":600000}']);

    // Every end the runtime sends for both tasks, repeats included, as a client sees them.
    const client = await Client.connect({ data });
    clients.push(client);
    const seen: ClientEvent[] = [];
    for (const id of [early.id, task.id]) {
      const stream = client.events({ taskId: id, types: ['task.state'] });
      await stream.ready;
      void (async () => { for await (const ev of stream) seen.push(ev); })();
    }
    // A cancelled run fails its task (reason `cancelled`).
    const ends = (id: string): number => seen.filter((ev) => ev.event === 'task.state' && ev.data.id === id && (ev.data.to === 'failed' || ev.data.to === 'finished')).length;
    const watch = background(['watch', '--data', data, '--id', task.id, '--json']);
    processes.push(watch);
    await watch.printed('watching', 30_000);
    await until(() => ends(early.id) === 1, { ms: 30_000, what: 'the replay due once the first listener came' });

    expect((await spindle(['cancel', task.id, '--data', data])).code).toBe(0);
    await watch.printed('"to":"failed"', 30_000);
    await until(() => ends(task.id) === 1, { ms: 30_000, what: 'the client to see the end' });
    // The runtime's listener connection (it holds the watchers lock) is cut: once back, the
    // runtime replays the ends of the tasks followed by id that it may have missed, but not this
    // one, which its listeners already had.
    const replaysBefore = replays();
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const cut = await admin.query<{ cut: boolean }>(`SELECT pg_terminate_backend(pid) AS cut FROM pg_locks WHERE locktype = 'advisory'
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND classid = $1 AND objid = $2 AND objsubid = 2`, [...WATCHERS_LOCK]);
      expect(cut.rows).toEqual([{ cut: true }]);
    } finally {
      await admin.end();
    }
    await until(() => replays() > replaysBefore, { ms: 30_000, what: 'the runtime to replay the ends it may have missed after its listener came back' });
    // An event after the replay: once the watch prints it, it has read the replay too.
    expect((await spindle(['retry', task.id, '--data', data])).code).toBe(0);
    await watch.printed('"from":"failed"', 30_000);
    const printed = watch.stdout().trim().split('\n').map((l) => JSON.parse(l) as { event: string; data: { to?: string; from?: string } });
    expect(printed.filter((e) => e.event === 'task.state' && (e.data.to === 'failed' || e.data.from === 'failed')).map((e) => [e.data.from, e.data.to]))
      .toEqual([['running', 'failed'], ['failed', 'queued']]);
    expect(ends(task.id)).toBe(1);
  });
});
