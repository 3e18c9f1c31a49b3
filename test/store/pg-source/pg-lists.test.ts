import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_STATES, type TaskState } from '../../../src/api/states.js';
import { PgCounts } from '../../../src/store/pg-source/pg-counts.js';
import { PgDatabase } from '../../../src/store/pg-source/pg-database.js';
import { PgReader } from '../../../src/store/pg-source/pg-reader.js';
import { NEXT_DUE_SQL } from '../../../src/store/pg-source/due-order.js';
import type { DueEntry, ListQuery } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/pg.js';

const log = pino({ level: 'silent' });
const TYPES = ['a', 'b', 'c', 'rare', 'gone', 'nope'];
const STORED: readonly TaskState[] = ['spooled', 'queued', 'running', 'finished', 'failed', 'terminated'];

let db: TestDatabase;
let opened: PgDatabase;
let reader: PgReader;

/**
 * 3,000 tasks over four types and every stored state, interleaved by id, some paused; `rare` has
 * one task in a hundred, and `gone` had tasks of every state (their count rows stay) that were
 * deleted since. Rows are written as SQL and counted as migration 3's backfill counts them.
 */
async function seedTasks(target: PgDatabase): Promise<void> {
  await target.query(`INSERT INTO spindle_tasks (id, type, state, paused, priority, run, updated_at, record)
    SELECT lpad(g::text, 19, '0'),
      CASE WHEN g % 100 = 7 THEN 'rare' WHEN g % 50 = 3 THEN 'gone' ELSE (ARRAY['a', 'b', 'c'])[1 + g % 3] END,
      (ARRAY['spooled', 'queued', 'running', 'finished', 'failed', 'terminated'])[1 + (g * 7 / 5) % 6],
      g % 11 = 0, 0, 0, 0, '[]'
    FROM generate_series(1, 3000) AS g`);
  await target.query(`INSERT INTO spindle_counts (type, state, paused, slot, n)
    SELECT type, state, paused AND state IN ('spooled', 'queued', 'running'), 0, count(*) FROM spindle_tasks GROUP BY 1, 2, 3
    ON CONFLICT (type, state, paused, slot) DO UPDATE SET n = spindle_counts.n + excluded.n`);
  await target.query("DELETE FROM spindle_tasks WHERE type = 'gone'");
}

/**
 * 2,000 tasks more (ids from 1…, after the others): four in five queued, over four priorities and
 * a few hundred due times shared across them, some paused or without a due time; the rest running,
 * each with its lease. Their count rows are left alone: nothing here reads them.
 */
async function seedDue(target: PgDatabase): Promise<void> {
  await target.query(`INSERT INTO spindle_tasks (id, type, state, paused, priority, next_run_at, owner, lease_until, run, updated_at, record)
    SELECT '1' || lpad(g::text, 18, '0'), (ARRAY['a', 'b', 'c'])[1 + g % 3], s, g % 13 = 0, (ARRAY[0, 0, 5, -3, 10])[1 + g % 5],
      CASE WHEN s = 'queued' AND g % 17 <> 0 THEN 1000 + (g * 37) % 300 END,
      CASE WHEN s = 'running' THEN 'rt' END, CASE WHEN s = 'running' THEN 5000 + g % 700 END, 0, 0, '[]'
    FROM generate_series(1, 2000) AS g, LATERAL (SELECT CASE WHEN g % 10 < 8 THEN 'queued' ELSE 'running' END AS s) AS x`);
}

const DISPATCHABLE = "state = 'queued' AND NOT paused AND next_run_at IS NOT NULL";

/** The due tasks in due order, as plainly as SQL says it. */
async function dueOrder(): Promise<DueEntry[]> {
  return opened.query<DueEntry>(`SELECT id, next_run_at::float8 AS due FROM spindle_tasks WHERE ${DISPATCHABLE} ORDER BY next_run_at, id`);
}

/** What a list must return: the table filtered and sorted as plainly as SQL says it. */
async function expected(q: Omit<ListQuery, 'limit' | 'cursor'>): Promise<string[]> {
  const where = ['true'];
  const values: unknown[] = [];
  if (q.paused === true) where.push("paused AND state IN ('spooled', 'queued', 'running')");
  else if (q.state !== undefined) where.push(`state = $${values.push(q.state)}`);
  if (q.type !== undefined) where.push(`type = $${values.push(q.type)}`);
  const rows = await opened.query<{ id: string }>(`SELECT id FROM spindle_tasks WHERE ${where.join(' AND ')} ORDER BY id DESC`, values);
  return rows.map((r) => r.id);
}

/** Every page of a list, by cursor, each no longer than the limit. */
async function paged(q: Omit<ListQuery, 'limit' | 'cursor'>, limit: number): Promise<string[]> {
  const all: string[] = [];
  for (;;) {
    const page = await reader.listIds({ ...q, limit, ...(all.length > 0 ? { cursor: all[all.length - 1]! } : {}) });
    expect(page.length).toBeLessThanOrEqual(limit);
    all.push(...page);
    if (page.length < limit) return all;
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  opened = await PgDatabase.open({ url: db.url, log });
  await seedTasks(opened);
  await seedDue(opened);
  reader = new PgReader(opened, new PgCounts(opened, log));
});

afterAll(async () => {
  await opened.close();
  await db.drop();
});

describe('PostgreSQL lists without a type index, and of one state (but spooled) by type (migration 6)', () => {
  it('list by every state and type, and both, newest first, page by page, as the table holds them', async () => {
    for (const state of [undefined, ...TASK_STATES]) {
      for (const type of [undefined, ...TYPES]) {
        const q = { ...(state !== undefined ? { state } : {}), ...(type !== undefined ? { type } : {}) };
        const want = await expected(q);
        if (type === undefined && state !== undefined && STORED.includes(state)) expect(want.length).toBeGreaterThan(100);
        expect(await paged(q, 37)).toEqual(want);
        expect(await reader.listIds({ ...q, limit: 5 })).toEqual(want.slice(0, 5));
      }
    }
  });

  it('list the paused open tasks, of all types and of one, page by page', async () => {
    for (const type of [undefined, 'a', 'rare']) {
      const q = { paused: true, ...(type !== undefined ? { type } : {}) };
      const want = await expected(q);
      expect(want.length).toBeGreaterThan(0);
      expect(await paged(q, 13)).toEqual(want);
    }
  });

  it('search one type by id range and cursor, newest first, as the table holds it', async () => {
    const rows = await opened.query<{ id: string }>("SELECT id FROM spindle_tasks WHERE type = 'b' AND id >= $1 AND id < $2 ORDER BY id DESC",
      ['0000000000000001000', '0000000000000002000']);
    const want = rows.map((r) => r.id);
    expect(want.length).toBeGreaterThan(100);
    const first = await reader.search({ type: 'b', idPrefix: '000000000000000', cursor: '0000000000000002000', limit: 10 }, 50);
    expect(first).toEqual({ ids: (await opened.query<{ id: string }>("SELECT id FROM spindle_tasks WHERE type = 'b' AND id < '0000000000000002000' ORDER BY id DESC LIMIT 50")).map((r) => r.id), exhausted: false });
    // A prefix bounds the range above: every id of 000000000000000 1xxx, and no other.
    const prefixed = await reader.search({ type: 'b', idPrefix: '0000000000000001', limit: 10 }, 10_000);
    expect(prefixed).toEqual({ ids: want, exhausted: true });
    expect(await reader.search({ type: 'rare', limit: 10 }, 10_000)).toEqual({
      ids: (await expected({ type: 'rare' })), exhausted: true,
    });
    expect(await reader.search({ type: 'gone', limit: 10 }, 10)).toEqual({ ids: [], exhausted: true });
  });
});

describe('PostgreSQL due order and running lists without their own indexes (migration 8)', () => {
  it('page the due tasks in due order (next_run_at, id) across every priority, as the table holds them', async () => {
    const want = await dueOrder();
    expect(new Set((await opened.query<{ p: number }>(`SELECT priority AS p FROM spindle_tasks WHERE ${DISPATCHABLE}`)).map((r) => r.p)).size).toBe(4);
    expect(want.length).toBeGreaterThan(1000);
    for (const limit of [1, 7, 250, 5000]) {
      const all: DueEntry[] = [];
      for (;;) {
        const page = await reader.dueAfter(all.length > 0 ? all[all.length - 1]! : null, limit);
        expect(page.length).toBeLessThanOrEqual(limit);
        all.push(...page);
        if (page.length < limit) break;
      }
      expect(all).toEqual(want);
    }
    // Before every id of a due time: the page starts at that time, with its lowest priority's tasks as much as its highest's.
    expect(await reader.dueAfter({ due: 1100, id: '' }, 40)).toEqual(want.filter((e) => e.due >= 1100).slice(0, 40));
  });

  it('name the next due time after an instant of some types, whatever their priority; null when none', async () => {
    for (const after of [0, 999, 1000, 1150, 1298, 1299, 5000]) {
      for (const types of [['a'], ['b', 'c'], ['a', 'b', 'c'], ['nope'], []]) {
        const [plain] = await opened.query<{ due: number | null }>(
          `SELECT min(next_run_at)::float8 AS due FROM spindle_tasks WHERE ${DISPATCHABLE} AND next_run_at > $1 AND type = ANY($2::text[])`, [after, types]);
        const [got] = await opened.query<{ due: number | null }>(NEXT_DUE_SQL, [after, types]);
        expect(got, `${after} ${types.join()}`).toEqual(plain);
      }
    }
  });

  it('list the running tasks, of all types and of one, newest first, page by page, from their leases', async () => {
    for (const type of [undefined, 'a', 'c', 'rare', 'nope']) {
      const q = { state: 'running' as const, ...(type !== undefined ? { type } : {}) };
      const want = await expected(q);
      if (type === undefined || type.length === 1) expect(want.length).toBeGreaterThan(100);
      expect(await paged(q, 29)).toEqual(want);
    }
  });
});
