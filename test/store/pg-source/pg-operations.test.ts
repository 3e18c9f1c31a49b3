import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { minuteOf } from '../../../src/api/series.js';
import type { TaskView } from '../../../src/api/views.js';
import { TERMINAL_STATES } from '../../../src/task/state.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/pg.js';
import { startPgRuntime, type PgRuntime } from '../../helpers/pg-supervisor.js';
import { until, waitForState } from '../../helpers/runtime.js';

let db: TestDatabase;
const runtimes: PgRuntime[] = [];

async function runtime(options?: Parameters<typeof startPgRuntime>[1]): Promise<PgRuntime> {
  const r = await startPgRuntime(db.url, options);
  runtimes.push(r);
  return r;
}

/** Rows of the task's own tables, read past the source: what a delete must leave none of. */
async function rowsOf(taskId: string): Promise<number> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(`SELECT
      (SELECT count(*) FROM spindle_tasks WHERE id = $1) + (SELECT count(*) FROM spindle_runs WHERE task_id = $1)
      + (SELECT count(*) FROM spindle_history WHERE task_id = $1) + (SELECT count(*) FROM spindle_error_words WHERE task_id = $1) AS n`, [taskId]);
    return Number(rows[0]!.n);
  } finally {
    await client.end();
  }
}

/** A task's end, whichever runtime ran it (a runtime's events tell only of the runs it ran). */
function ended(r: PgRuntime, id: string): Promise<TaskView> {
  return until(async () => {
    const v = await r.supervisor.get(id);
    return TERMINAL_STATES.has(v.state) ? v : undefined;
  });
}

beforeEach(async () => {
  db = await createTestDatabase();
});

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.stop(0)));
  await db.drop();
});

describe('operations and dashboard reads on the PostgreSQL source', () => {
  it('per-minute run counts of two runtimes add up in the shared rows, and survive both stopping', async () => {
    const from = minuteOf(Date.now());
    const a = await runtime();
    const b = await runtime();
    const tasks = [
      ...await a.supervisor.submitMany(Array.from({ length: 10 }, () => ({ type: 'noop' }))),
      ...await b.supervisor.submitMany(Array.from({ length: 10 }, () => ({ type: 'noop' }))),
    ];
    await Promise.all(tasks.map((t) => ended(a, t.id)));
    await a.stop();
    await b.stop();
    const c = await runtime();
    const rows = await c.source.reader.series('noop', from, minuteOf(Date.now()));
    const total = rows.reduce((sum, r) => ({ started: sum.started + r.counts.started, finished: sum.finished + (r.counts.ended['finished'] ?? 0) }), { started: 0, finished: 0 });
    expect(total).toEqual({ started: 20, finished: 20 });
  });

  it('search finds a failed task by a word of its error; delete takes the task, its runs, history and words, and moves the counts', async () => {
    const { supervisor, source } = await runtime();
    const bad = await supervisor.submit({ type: 'flaky', maxTries: 1 });
    await waitForState(supervisor, bad.id);
    expect((await source.reader.search({ words: ['purpose'], limit: 10 }, 100)).ids).toEqual([bad.id]);
    expect((await source.reader.search({ words: ['attempt', 'fails'], limit: 10 }, 100)).ids).toEqual([bad.id]);
    expect(supervisor.stats().states.failed).toBe(1);
    expect(await rowsOf(bad.id)).toBeGreaterThan(1);
    await expect(supervisor.delete(bad.id)).resolves.toEqual({ id: bad.id, deleted: true });
    expect(await rowsOf(bad.id)).toBe(0);
    expect(supervisor.stats().states.failed ?? 0).toBe(0);
    expect((await source.reader.search({ words: ['purpose'], limit: 10 }, 100))).toEqual({ ids: [], exhausted: true });
    await expect(supervisor.delete(bad.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('delete refuses a task that has not ended, and deletes nothing', async () => {
    const { supervisor } = await runtime();
    const t = await supervisor.submit({ type: 'noop', schedule: { in: '1h' } });
    await expect(supervisor.delete(t.id)).rejects.toMatchObject({ code: 'INVALID_STATE' });
    expect(await supervisor.get(t.id)).toMatchObject({ state: 'queued' });
  });

  it('a paused type is claimed by no runtime, another runtime learns the pause, it survives a restart, and a resume runs its tasks', async () => {
    const a = await runtime();
    const b = await runtime();
    await a.supervisor.setTypePaused('noop', true);
    expect(a.source.pausedTypes().has('noop')).toBe(true);
    await until(() => b.source.pausedTypes().has('noop'));
    const held = await b.supervisor.submit({ type: 'noop' });
    const other = await b.supervisor.submit({ type: 'echo', params: { x: 1 } });
    // The other type runs; the paused one stays queued on both runtimes.
    await ended(b, other.id);
    expect(await b.supervisor.get(held.id)).toMatchObject({ state: 'queued', runCount: 0 });
    await a.stop();
    await b.stop();
    const c = await runtime();
    expect(c.source.pausedTypes().has('noop')).toBe(true);
    expect(await c.supervisor.get(held.id)).toMatchObject({ state: 'queued', runCount: 0 });
    await c.supervisor.setTypePaused('noop', false);
    expect(c.source.pausedTypes().has('noop')).toBe(false);
    expect(await waitForState(c.supervisor, held.id)).toMatchObject({ state: 'finished', runCount: 1 });
  });

  it('lists paused open tasks by their index, and counts them per type', async () => {
    const { supervisor, source } = await runtime();
    const a = await supervisor.submit({ type: 'noop', schedule: { in: '1h' } });
    const b = await supervisor.submit({ type: 'echo', schedule: { in: '1h' } });
    await supervisor.submit({ type: 'noop', schedule: { in: '1h' } });
    await supervisor.pause(a.id);
    await supervisor.pause(b.id);
    expect((await supervisor.list({ paused: true })).tasks.map((t) => t.id)).toEqual([b.id, a.id]);
    expect((await supervisor.list({ paused: true, type: 'noop' })).tasks.map((t) => t.id)).toEqual([a.id]);
    expect(source.reader.paused('noop')).toBe(1);
    await supervisor.cancel(a.id);
    expect((await supervisor.list({ paused: true })).tasks.map((t) => t.id)).toEqual([b.id]);
    expect(source.reader.paused('noop')).toBe(0);
  });
});
