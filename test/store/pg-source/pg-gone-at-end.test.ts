import { afterEach, describe, expect, it } from 'vitest';
import { Client, type Runtime, type SpindleEvent } from '../../../src/index.js';
import { type Background, killBackground, spindle, startRuntime as startCli } from '../../helpers/cli.js';
import { pgTestBed, startPgRuntime, type PgRuntime } from '../../helpers/pg-supervisor.js';
import { FIXTURE_TASKS, removeTempDirs, startRuntime, tempDir, until, waitForState } from '../../helpers/runtime.js';

/** A database of its own per test, and the runtimes it starts there (stopped, then dropped, after it). */
const bed = pgTestBed();
const runtimes: Runtime[] = [];
const clients: Client[] = [];
const processes: Background[] = [];

// Registered after the bed's: runs before it, while the database is still there.
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(runtimes.splice(0).map((r) => r.stop(0)));
  for (const p of processes.splice(0)) await killBackground(p);
  removeTempDirs();
});

async function supervisorOn(options?: Parameters<typeof startPgRuntime>[1]): Promise<PgRuntime> {
  const r = await startPgRuntime(bed.db.url, options);
  bed.runtimes.push(r);
  return r;
}

const rows = async (r: PgRuntime, table: string): Promise<number> =>
  (await r.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n;

/** The terminal task.state events the supervisor emits, by task id. */
function ends(r: PgRuntime): Map<string, SpindleEvent & { event: 'task.state' }> {
  const seen = new Map<string, SpindleEvent & { event: 'task.state' }>();
  r.supervisor.subscribe({ types: ['task.state'] }, (ev) => {
    if (ev.event === 'task.state' && ['finished', 'failed', 'terminated'].includes(ev.data.to)) seen.set(ev.data.id, ev);
  });
  return seen;
}

describe('a task kept for no time (retention 0) on PostgreSQL', () => {
  it('is deleted by the write that ends it, with its earlier runs; it leaves the counts, stats count it swept, its end event carries it', async () => {
    const r = await supervisorOn({ retentionMs: 0 });
    const seen = ends(r);
    // Fails once, then succeeds: two runs, the first kept in spindle_runs until the end.
    const flaky = await r.supervisor.submit({ type: 'flaky', params: { succeedOn: 2 }, maxTries: 3 });
    const noops = await r.supervisor.submitMany(Array.from({ length: 50 }, () => ({ type: 'noop' })));
    await until(() => seen.size === 51, { ms: 60_000, what: '51 tasks ended' });
    expect(await rows(r, 'spindle_tasks')).toBe(0);
    expect(await rows(r, 'spindle_runs')).toBe(0);
    const end = seen.get(flaky.id)!.data;
    expect(end).toMatchObject({ id: flaky.id, from: 'running', to: 'finished' });
    expect(end.task).toMatchObject({ id: flaky.id, state: 'finished', runCount: 2, tries: 2, lastRun: { run: 2, state: 'finished', output: { attempt: 2 } } });
    expect(end.task!.endedAt).toBe(end.at);
    for (const t of noops) expect(seen.get(t.id)!.data.task).toMatchObject({ id: t.id, state: 'finished' });
    const stats = r.supervisor.stats();
    expect(stats.swept).toBe(51);
    // All by the writes that ended them, none left to the sweep.
    expect(r.source.removedAtEnd).toBe(51);
    expect(stats.states.finished ?? 0).toBe(0);
    expect(stats.states.running ?? 0).toBe(0);
    expect((await r.db.query<{ n: number }>("SELECT coalesce(sum(n), 0)::int AS n FROM spindle_counts WHERE state IN ('finished', 'running', 'queued')"))[0]!.n).toBe(0);
    await expect(r.supervisor.get(flaky.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  }, 90_000);

  it('is deleted by a cancel that ends it before it ran; a task kept for a time stays', async () => {
    const r = await supervisorOn({ retentionMs: 0 });
    const later = await r.supervisor.submit({ type: 'noop', schedule: { in: '1h' } });
    const cancelled = await r.supervisor.cancel(later.id);
    expect(cancelled).toMatchObject({ id: later.id, state: 'failed', reason: 'cancelled' });
    expect(await rows(r, 'spindle_tasks')).toBe(0);
    expect(r.supervisor.stats().swept).toBe(1);

    const kept = await supervisorOn({ retentionMs: 60_000 });
    const t = await kept.supervisor.submit({ type: 'noop', schedule: { in: '1h' } });
    await kept.supervisor.cancel(t.id);
    expect(await kept.supervisor.get(t.id)).toMatchObject({ state: 'failed', reason: 'cancelled' });
  });
});

describe('waiting on a task kept for no time', () => {
  it('Client.submitAndWait and Client.wait get it as it ended, from a runtime other than the one that ran it', async () => {
    const url = bed.db.url;
    // This runtime's one worker is kept busy, so what is submitted through it runs on the other.
    const via = await startRuntime({ store: url, socket: true, workers: 1, lease: '5s', retention: 0 });
    runtimes.push(via);
    const client = await Client.connect({ data: via.options.data });
    clients.push(client);
    const hog = await client.submit({ type: 'sleep', params: { ms: 600_000 } });
    await waitForState(via, hog.id, ['running']);
    await supervisorOn({ retentionMs: 0 });

    const done = await client.submitAndWait({ type: 'echo', params: { n: 1 } });
    expect(done).toMatchObject({ type: 'echo', state: 'finished', lastRun: { output: { n: 1 } } });
    await expect(client.get(done.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const t = await client.submit({ type: 'echo', params: { n: 2 }, schedule: { in: '300ms' } });
    expect(await client.wait(t.id)).toMatchObject({ id: t.id, state: 'finished', lastRun: { output: { n: 2 } } });
    await expect(client.wait(t.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  }, 60_000);

  it('spindle submit --wait prints its output and exits 0 (the real CLI, --retention 0)', async () => {
    const url = bed.db.url;
    const data = tempDir();
    processes.push(await startCli(data, FIXTURE_TASKS, ['--store', url, '--retention', '0']));
    for (let i = 0; i < 5; i++) {
      const ran = await spindle(['submit', 'echo', '--params', `{"n":${i}}`, '--wait', '--data', data]);
      expect(ran.stderr).toBe('');
      expect(ran.code).toBe(0);
      expect(JSON.parse(ran.stdout)).toEqual({ n: i });
    }
    const failed = await spindle(['submit', 'throws', '--wait', '--data', data]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^spindle: task \S+ failed \(error\): HANDLER_ERROR: /);
  }, 60_000);
});
