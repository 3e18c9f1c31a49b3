import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_STATES, type TaskState } from '../../../src/api/states.js';
import { PgCounts } from '../../../src/store/pg-source/pg-counts.js';
import { PgDatabase } from '../../../src/store/pg-source/pg-database.js';
import { PgReader } from '../../../src/store/pg-source/pg-reader.js';
import type { ListQuery } from '../../../src/store/store.js';
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
