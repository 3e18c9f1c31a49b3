import pg from 'pg';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addMinute, emptyMinute, observe, type MinuteCounts } from '../../../src/api/series.js';
import { addSeries } from '../../../src/store/pg-source/derived-rows.js';
import { MIGRATIONS } from '../../../src/store/pg-source/migrate.js';
import { PgCounts } from '../../../src/store/pg-source/pg-counts.js';
import { PgDatabase } from '../../../src/store/pg-source/pg-database.js';
import { PgReader } from '../../../src/store/pg-source/pg-reader.js';
import { deleteTasks } from '../../../src/store/pg-source/rows.js';
import { createTestDatabase, schemaAt, type TestDatabase } from '../../helpers/pg.js';

const log = pino({ level: 'silent' });
let db: TestDatabase;

beforeEach(async () => {
  db = await createTestDatabase();
});

afterEach(async () => {
  await db.drop();
});

/** Ids whose byte order is not their order under a linguistic collation (case, punctuation). */
const IDS = ['0-b', '0_a', '0a', '0B', '0b', '0~', 'A0', 'a0', 'Z', 'z'];
const bytewise = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function schema(url: string, upTo: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await schemaAt(client, upTo);
  } finally {
    await client.end();
  }
}

describe('PostgreSQL keys compared bytewise (migration 7)', () => {
  it('upgrade a schema-6 database with tasks, runs, history and error words: lists read as before, a delete takes a task with its rows, a minute adds as addMinute does', async () => {
    await schema(db.url, 6);
    const minute = (started: number): MinuteCounts => {
      const c = emptyMinute();
      c.started = started;
      c.ended = { finished: started };
      observe(c.run, 5 * started);
      return c;
    };
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(`INSERT INTO spindle_tasks (id, type, state, paused, priority, next_run_at, owner, lease_until, run, updated_at, record)
        SELECT lpad(g::text, 19, '0'), (ARRAY['email', 'sms'])[1 + g % 2], (ARRAY['queued', 'running', 'finished'])[1 + g % 3], false, 0,
          g, CASE WHEN g % 3 = 1 THEN 'rt' END, CASE WHEN g % 3 = 1 THEN g END, 1, 0, '[]'
        FROM generate_series(1, 300) AS g`);
      await client.query(`INSERT INTO spindle_runs SELECT id, 1, '{}' FROM spindle_tasks WHERE state = 'finished'`);
      await client.query(`INSERT INTO spindle_history SELECT id, 0, '[]' FROM spindle_tasks WHERE state = 'finished'`);
      await client.query(`INSERT INTO spindle_error_words SELECT 'boom', id FROM spindle_tasks WHERE state = 'finished'`);
      await client.query(`INSERT INTO spindle_counts (type, state, paused, slot, n) SELECT type, state, false, 0, count(*) FROM spindle_tasks GROUP BY 1, 2`);
      await client.query('INSERT INTO spindle_series (type, minute, slot, counts) VALUES ($1, 10, 0, $2)', ['email', JSON.stringify(minute(3))]);
    } finally {
      await client.end();
    }
    const opened = await PgDatabase.open({ url: db.url, log });
    try {
      expect((await opened.query<{ v: number }>('SELECT max(version)::int AS v FROM spindle_migrations'))[0]!.v).toBe(MIGRATIONS.at(-1)!.version);
      const collations = await opened.query<{ t: string; c: string; coll: string }>(`SELECT table_name AS t, column_name AS c, collation_name AS coll
        FROM information_schema.columns WHERE table_name LIKE 'spindle%' AND data_type = 'text' AND column_name <> 'record' ORDER BY 1, 2`);
      expect(collations.filter((r) => r.coll !== 'C').map((r) => `${r.t}.${r.c}`)).toEqual(['spindle_migrations.name']);
      const reader = new PgReader(opened, new PgCounts(opened, log));
      const all = (await opened.query<{ id: string }>('SELECT id FROM spindle_tasks ORDER BY id DESC')).map((r) => r.id);
      expect(await reader.listIds({ limit: 1000 })).toEqual(all);
      expect(await reader.listIds({ type: 'sms', state: 'running', limit: 1000 })).toEqual(all.filter((id) => Number(id) % 2 === 1 && Number(id) % 3 === 1));
      const finished = all.filter((id) => Number(id) % 3 === 2);
      expect(await reader.search({ words: ['boom'], limit: 1000 }, 1000)).toEqual({ ids: finished, exhausted: true });
      // The indexes stay unique; a task's delete takes its rows (by the statement since migration 10).
      await expect(opened.query("INSERT INTO spindle_tasks (id, type, state, paused, priority, run, updated_at, record) VALUES ('0000000000000000003', 'x', 'queued', false, 0, 0, 0, '[]')"))
        .rejects.toThrow();
      await opened.transaction((c) => deleteTasks(c, ['0000000000000000002']));
      for (const t of ['spindle_runs', 'spindle_history', 'spindle_error_words']) {
        expect(await opened.query(`SELECT task_id FROM ${t} WHERE task_id = '0000000000000000002'`)).toEqual([]);
        expect((await opened.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`))[0]!.n).toBe(99);
      }
      // A minute stored before adds to the deltas written after, in SQL, as addMinute adds them.
      await opened.transaction(async (c) => addSeries(c, new Map([['k', { type: 'email', minute: 10, counts: minute(2) }]]), 0));
      await opened.transaction(async (c) => addSeries(c, new Map([['k', { type: 'email', minute: 10, counts: minute(4) }]]), 0));
      expect(await reader.series('email', 10, 10)).toEqual([{ minute: 10, counts: addMinute(addMinute(minute(3), minute(2)), minute(4)) }]);
    } finally {
      await opened.close();
    }
  });

  it('on a database whose default collation is linguistic (ICU en-US), list ids and due tasks in byte order', async () => {
    const icu = await createTestDatabase("TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'");
    try {
      const opened = await PgDatabase.open({ url: icu.url, log });
      try {
        // The database's own order is not bytewise for these ids: the test would prove nothing otherwise.
        const linguistic = (await opened.query<{ id: string }>('SELECT unnest($1::text[]) AS id ORDER BY 1', [IDS])).map((r) => r.id);
        expect(linguistic).not.toEqual([...IDS].sort(bytewise));
        await opened.query(`INSERT INTO spindle_tasks (id, type, state, paused, priority, next_run_at, run, updated_at, record)
          SELECT id, 'a', 'queued', false, 0, 1, 0, 0, '[]' FROM unnest($1::text[]) AS id`, [IDS]);
        const reader = new PgReader(opened, new PgCounts(opened, log));
        const newestFirst = [...IDS].sort(bytewise).reverse();
        expect(await reader.listIds({ limit: 100 })).toEqual(newestFirst);
        expect(await reader.listIds({ type: 'a', limit: 100 })).toEqual(newestFirst);
        expect(await reader.listIds({ state: 'queued', limit: 3, cursor: '0b' })).toEqual(newestFirst.slice(newestFirst.indexOf('0b') + 1).slice(0, 3));
        expect((await reader.dueAfter(null, 100)).map((d) => d.id)).toEqual([...IDS].sort(bytewise));
      } finally {
        await opened.close();
      }
    } finally {
      await icu.drop();
    }
  });
});
