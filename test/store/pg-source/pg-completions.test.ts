import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { pgTestBed, startPgRuntime } from '../../helpers/pg-supervisor.js';
import { waitForState } from '../../helpers/runtime.js';

const bed = pgTestBed();
let other: pg.Client | null = null;

afterEach(async () => {
  await other?.end().catch(() => undefined);
  other = null;
});

describe('run ends on PostgreSQL', () => {
  it('ends handed in separately but written in one transaction lock their rows in id order, as the heartbeat does: no deadlock with it', async () => {
    // Leases long enough that the runtime's own heartbeat stays out of the way.
    const runtime = await startPgRuntime(bed.db.url, { workers: 2, leaseMs: 600_000 });
    bed.runtimes.push(runtime);
    const { supervisor, source } = runtime;
    const tasks = [
      await supervisor.submit({ type: 'sleep', params: { ms: 600_000 }, maxTries: 1 }),
      await supervisor.submit({ type: 'sleep', params: { ms: 600_000 }, maxTries: 1 }),
    ];
    for (const t of tasks) await waitForState(supervisor, t.id, ['running']);
    const [low, high] = tasks.map((t) => t.id).sort() as [string, string];

    // Another session locks in id order, as a heartbeat's renewal does: the lower row first.
    other = new pg.Client({ connectionString: bed.db.url });
    await other.connect();
    const otherPid = (await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await other.query('BEGIN');
    await other.query('SELECT 1 FROM spindle_tasks WHERE id = $1 FOR UPDATE', [low]);

    // Two batches of ends handed in the same turn, the higher id first: one shared transaction.
    const keep = (): void => undefined;
    const ends = Promise.all([source.complete([{ taskId: high, run: 1, decide: keep }]), source.complete([{ taskId: low, run: 1, decide: keep }])]);
    const waiting = async (): Promise<number> => (await other!.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> $1 AND wait_event_type = 'Lock'`, [otherPid])).rows[0]!.n;
    await expect.poll(waiting, { timeout: 30_000 }).toBe(1);

    // The run ends wait for the lower row holding no other: the session takes the higher one too,
    // where a transaction that locked the higher row first would make this a deadlock.
    await expect(other.query('SELECT 1 FROM spindle_tasks WHERE id = $1 FOR UPDATE NOWAIT', [high])).resolves.toMatchObject({ rowCount: 1 });
    await other.query('ROLLBACK');
    expect(await ends).toEqual([['ok'], ['ok']]);
  });

  it('a run end applies to the task as written last: a change made while it ran is kept, not undone by the record its claim wrote', async () => {
    const runtime = await startPgRuntime(bed.db.url, { workers: 1, leaseMs: 600_000 });
    bed.runtimes.push(runtime);
    const { supervisor, source } = runtime;
    const task = await supervisor.submit({ type: 'sleep', params: { ms: 600_000 }, maxTries: 1 });
    await waitForState(supervisor, task.id, ['running']);
    // A write between the claim and the end (an operator's, which leaves the task running).
    await source.update(task.id, (rec, w) => {
      rec.priority = 9;
      rec.updatedAt = w.now;
    });
    const seen: number[] = [];
    expect(await source.complete([{ taskId: task.id, run: 1, decide: (rec) => { seen.push(rec.priority); } }])).toEqual(['ok']);
    // First to the record the claim wrote, whose write is refused (the row is a version on), then
    // to the row read again: the decision that is written saw the change.
    expect(seen).toEqual([0, 9]);
    expect((await source.reader.get(task.id))?.priority).toBe(9);
  });
});
