import pg from 'pg';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS, SCHEMA_VERSION } from '../../../src/store/pg-source/migrate.js';
import { PgCounts } from '../../../src/store/pg-source/pg-counts.js';
import { PgDatabase } from '../../../src/store/pg-source/pg-database.js';
import { PgReader } from '../../../src/store/pg-source/pg-reader.js';
import { NEXT_DUE_SQL } from '../../../src/store/pg-source/due-order.js';
import { PgSource } from '../../../src/store/pg-source/pg-source.js';
import type { TaskRecord } from '../../../src/task/record.js';
import { TASK_STATES } from '../../../src/api/states.js';
import type { ListQuery } from '../../../src/store/store.js';
import { RECORD_VERSION } from '../../../src/task/record.js';
import { addSeries } from '../../../src/store/pg-source/derived-rows.js';
import { addMinute, emptyMinute, observe, type MinuteCounts } from '../../../src/api/series.js';
import { createTestDatabase, schemaAt, type TestDatabase } from '../../helpers/pg.js';
import { startRun } from './start-run.js';

const log = pino({ level: 'silent' });
let db: TestDatabase;

beforeEach(async () => {
  db = await createTestDatabase();
});

afterEach(async () => {
  await db.drop();
});

async function versions(url: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ version: number }>('SELECT version FROM spindle_migrations ORDER BY version')).rows.map((r) => r.version);
  } finally {
    await client.end();
  }
}

/**
 * A database brought to schema `upTo`, holding one queued task of type `t` due at `due` whose
 * record column is `record` as that schema's code wrote it; then opened by this code (migrated).
 */
async function upgradedWithTask(upTo: number, id: string, due: number, record: string): Promise<{ opened: PgDatabase; source: PgSource }> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await schemaAt(client, upTo);
    await client.query(`INSERT INTO spindle_tasks (id, type, state, paused, priority, next_run_at, run, updated_at, record)
      VALUES ($1, 't', 'queued', false, 0, $2, 0, 1, $3)`, [id, due, record]);
  } finally {
    await client.end();
  }
  const opened = await PgDatabase.open({ url: db.url, log });
  return { opened, source: new PgSource({ db: opened, log, leaseMs: 5000 }) };
}

describe('PostgreSQL migrations', () => {
  it('bring an empty database to the schema this code knows, and find it done the next time', async () => {
    const first = await PgDatabase.open({ url: db.url, log });
    await first.close();
    expect(await versions(db.url)).toEqual(MIGRATIONS.map((m) => m.version));
    const pool = new pg.Pool({ connectionString: db.url });
    try {
      expect(await migrate(pool)).toBe(SCHEMA_VERSION);
      const tables = (await pool.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE tablename LIKE 'spindle_%' ORDER BY 1")).rows.map((r) => r.t);
      expect(tables).toEqual(['spindle_counts', 'spindle_error_words', 'spindle_history', 'spindle_migrations', 'spindle_runs', 'spindle_series', 'spindle_tasks', 'spindle_type_pauses']);
    } finally {
      await pool.end();
    }
    expect(await versions(db.url)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('let 8 runtimes migrate an empty database at once: all come up, each migration applied once', async () => {
    const opened = await Promise.all(Array.from({ length: 8 }, () => PgDatabase.open({ url: db.url, log, poolSize: 2 })));
    await Promise.all(opened.map((d) => d.close()));
    expect(await versions(db.url)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('bring a database made by migration 1, with tasks in it, to the schema this code knows', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(`CREATE TABLE spindle_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      await client.query(MIGRATIONS[0]!.sql);
      await client.query("INSERT INTO spindle_migrations (version, name) VALUES (1, 'tasks')");
      await client.query(`INSERT INTO spindle_tasks (id, type, state, paused, priority, run, updated_at, record)
        VALUES ('00000000000000abcde', 'noop', 'queued', true, 0, 0, 0, '{}')`);
    } finally {
      await client.end();
    }
    await (await PgDatabase.open({ url: db.url, log })).close();
    expect(await versions(db.url)).toEqual(MIGRATIONS.map((m) => m.version));
    const check = new pg.Client({ connectionString: db.url });
    await check.connect();
    try {
      const { rows } = await check.query("SELECT id FROM spindle_tasks WHERE paused AND state IN ('spooled', 'queued', 'running')");
      expect(rows).toEqual([{ id: '00000000000000abcde' }]);
    } finally {
      await check.end();
    }
  });

  it('bring a database made by migration 2, with tasks in it, to counts that equal a count of its tasks', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    // Per type: tasks in each state, and how many of them carry the paused flag.
    const tasks: Array<[string, string, number, number]> = [
      ['email', 'queued', 120, 7], ['email', 'running', 3, 1], ['email', 'finished', 500, 0], ['email', 'failed', 20, 4],
      ['report', 'spooled', 2, 0], ['report', 'queued', 9, 9], ['report', 'terminated', 1, 1],
    ];
    try {
      await schemaAt(client, 2);
      for (const [type, state, n, paused] of tasks) {
        await client.query(`INSERT INTO spindle_tasks (id, type, state, paused, priority, run, updated_at, record)
          SELECT $1 || lpad(g::text, 9, '0'), $2, $3, g <= $5, 0, 0, 0, '{}' FROM generate_series(1, $4) AS g`, [`${type}-${state}-`.padEnd(10, '-'), type, state, n, paused]);
      }
    } finally {
      await client.end();
    }
    const opened = await PgDatabase.open({ url: db.url, log });
    try {
      expect(await versions(db.url)).toEqual(MIGRATIONS.map((m) => m.version));
      const counts = new PgCounts(opened, log);
      await counts.refresh();
      expect(Object.fromEntries(counts.all())).toEqual({
        email: { queued: 120, running: 3, finished: 500, failed: 20 },
        report: { spooled: 2, queued: 9, terminated: 1 },
      });
      // Paused counts open tasks only: a paused flag left on an ended task is not counted.
      expect([counts.paused('email'), counts.paused('report')]).toEqual([8, 9]);
      expect([counts.open('email'), counts.open('report')]).toEqual([123, 11]);
    } finally {
      await opened.close();
    }
  });

  it('bring a database made by migration 3, with per-minute rows in it, to striped rows that read as they did', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const minute = (started: number): MinuteCounts => {
      const c = emptyMinute();
      c.started = started;
      c.ended = { finished: started };
      observe(c.run, 5);
      return c;
    };
    try {
      await schemaAt(client, 3);
      await client.query('INSERT INTO spindle_series (type, minute, counts) VALUES ($1, 10, $2), ($1, 11, $3)', ['email', JSON.stringify(minute(3)), JSON.stringify(minute(4))]);
    } finally {
      await client.end();
    }
    const opened = await PgDatabase.open({ url: db.url, log });
    try {
      expect(await versions(db.url)).toEqual(MIGRATIONS.map((m) => m.version));
      const reader = new PgReader(opened, new PgCounts(opened, log));
      expect(await reader.series('email', 10, 11)).toEqual([{ minute: 10, counts: minute(3) }, { minute: 11, counts: minute(4) }]);
      // A minute written since, in two other slots, reads as the sum of its three rows.
      await opened.transaction(async (c) => addSeries(c, new Map([['k', { type: 'email', minute: 10, counts: minute(1) }]]), 5));
      await opened.transaction(async (c) => addSeries(c, new Map([['k', { type: 'email', minute: 10, counts: minute(2) }]]), 9));
      const sum = addMinute(addMinute(minute(3), minute(1)), minute(2));
      expect(await reader.series('email', 10, 11)).toEqual([{ minute: 10, counts: sum }, { minute: 11, counts: minute(4) }]);
      expect(await opened.query("SELECT indexname FROM pg_indexes WHERE indexname = 'spindle_tasks_owner'")).toEqual([]);
    } finally {
      await opened.close();
    }
  });

  it('bring a database made by migration 4, with keyed records in it, to compact records: each reads as it was, and as written after its next write', async () => {
    // Due a minute ago; its params hold a line break and a NUL, which the compact records carry one a line.
    const rec: TaskRecord = {
      v: RECORD_VERSION, id: '0000000000000upg004', type: 't', params: { note: 'a\nb\u0000c', n: [1, 2] },
      state: 'queued', reason: null, schedule: null, recurring: false, priority: 0, maxTries: 3, timeoutMs: 1000, misfire: 'coalesce', graceMs: 0,
      tries: 0, runCount: 0, occurrences: 0, firedAt: null, interval: null, nextRunAt: Date.now() - 60_000, paused: false, key: null, createdAt: 1,
      updatedAt: 1, endedAt: null, expiresAt: null, lastRun: null, history: [{ from: 'spooled', to: 'queued', event: 'PLACE', at: 1, reason: null }],
      historyChunks: 0, keyExpiresAt: null, keyRetentionMs: null,
    };
    const { opened, source } = await upgradedWithTask(4, rec.id, rec.nextRunAt!, JSON.stringify(rec));
    try {
      expect(await versions(db.url)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await source.reader.get(rec.id)).toEqual(rec);
      const claims = await source.claim({
        pools: [{ free: 1, types: new Map([['t', 1]]) }],
        start: startRun,
      });
      expect(claims.map((c) => c.rec.id)).toEqual([rec.id]);
      expect(claims[0]!.rec.params).toEqual(rec.params);
      const [row] = await opened.query<{ record: string }>('SELECT record FROM spindle_tasks WHERE id = $1', [rec.id]);
      expect(row!.record.startsWith('[')).toBe(true);
      expect(await source.reader.get(rec.id)).toEqual(claims[0]!.rec);
      expect(await source.reader.getMany([rec.id, 'none'])).toEqual([claims[0]!.rec, undefined]);
    } finally {
      await source.close();
      await opened.close();
    }
  });

  it('bring a database made by migration 10, with a record of layout 1 in it, to migration 11: it reads as it was, and its next write is layout 2', async () => {
    const id = '0000000000000upg011';
    // The bytes record-codec wrote for a task before layout 2: queued, due a minute ago.
    const due = Date.now() - 60_000;
    const layout1 = `[1,"${id}","t",{"n":[1,2]},null,false,0,3,1000,"coalesce",0,null,1,"queued",null,0,0,0,null,null,${due},false,1,null,null,null,[["spooled","queued","place",1,null]],0,null,null]`;
    const rec: TaskRecord = {
      v: RECORD_VERSION, id, type: 't', params: { n: [1, 2] }, state: 'queued', reason: null, schedule: null, recurring: false, priority: 0,
      maxTries: 3, timeoutMs: 1000, misfire: 'coalesce', graceMs: 0, tries: 0, runCount: 0, occurrences: 0, firedAt: null, interval: null,
      nextRunAt: due, paused: false, key: null, createdAt: 1, updatedAt: 1, endedAt: null, expiresAt: null, lastRun: null,
      history: [{ from: 'spooled', to: 'queued', event: 'place', at: 1, reason: null }], historyChunks: 0, keyExpiresAt: null, keyRetentionMs: null,
    };
    const { opened, source } = await upgradedWithTask(10, id, due, layout1);
    try {
      expect(await versions(db.url)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await source.reader.get(id)).toEqual(rec);
      const claims = await source.claim({ pools: [{ free: 1, types: new Map([['t', 1]]) }], start: startRun });
      expect(claims.map((c) => c.rec.id)).toEqual([id]);
      const [row] = await opened.query<{ record: string }>('SELECT record FROM spindle_tasks WHERE id = $1', [id]);
      expect(row!.record.startsWith(`[2,"${id}"`)).toBe(true);
      expect(await source.reader.get(id)).toEqual(claims[0]!.rec);
    } finally {
      await source.close();
      await opened.close();
    }
  });

  it('bring a database made by migration 5, with tasks in it, to fewer indexes (migration 6): every list reads as it did', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await schemaAt(client, 5);
      // 600 tasks of three types in every stored state, interleaved by id; the running ones hold a lease.
      await client.query(`INSERT INTO spindle_tasks (id, type, state, paused, priority, next_run_at, owner, lease_until, run, updated_at, record)
        SELECT lpad(g::text, 19, '0'), (ARRAY['email', 'report', 'sms'])[1 + g % 3], s, g % 7 = 0, 0,
          CASE WHEN s = 'queued' THEN g END, CASE WHEN s = 'running' THEN 'rt' END, CASE WHEN s = 'running' THEN g END, 0, 0, '[]'
        FROM generate_series(1, 600) AS g,
          LATERAL (SELECT (ARRAY['spooled', 'queued', 'running', 'finished', 'failed', 'terminated'])[1 + (g * 5 / 4) % 6] AS s) AS x`);
      await client.query(`INSERT INTO spindle_counts (type, state, paused, slot, n)
        SELECT type, state, paused AND state IN ('spooled', 'queued', 'running'), 0, count(*) FROM spindle_tasks GROUP BY 1, 2, 3`);
    } finally {
      await client.end();
    }
    const queries: ListQuery[] = [{ limit: 1000 }, { limit: 1000, paused: true }];
    for (const state of TASK_STATES) {
      queries.push({ state, limit: 1000 }, { state, type: 'sms', limit: 1000 }, { state, limit: 7, cursor: '0000000000000000300' });
    }
    for (const type of ['email', 'report', 'sms', 'none']) queries.push({ type, limit: 1000 }, { type, limit: 9, cursor: '0000000000000000400' });
    // What each list must return, read from the tables before the migration, as plainly as SQL says it.
    const before: string[][] = [];
    const plain = new pg.Client({ connectionString: db.url });
    await plain.connect();
    try {
      for (const q of queries) {
        const where = ['true'];
        const values: unknown[] = [];
        if (q.paused === true) where.push("paused AND state IN ('spooled', 'queued', 'running')");
        else if (q.state !== undefined) where.push(`state = $${values.push(q.state)}`);
        if (q.type !== undefined) where.push(`type = $${values.push(q.type)}`);
        if (q.cursor !== undefined) where.push(`id < $${values.push(q.cursor)}`);
        const { rows } = await plain.query<{ id: string }>(`SELECT id FROM spindle_tasks WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ${q.limit}`, values);
        before.push(rows.map((r) => r.id));
      }
    } finally {
      await plain.end();
    }
    expect(before.filter((ids) => ids.length > 0).length).toBeGreaterThan(queries.length / 2);

    const opened = await PgDatabase.open({ url: db.url, log });
    try {
      expect(await versions(db.url)).toEqual(MIGRATIONS.map((m) => m.version));
      const reader = new PgReader(opened, new PgCounts(opened, log));
      expect(await Promise.all(queries.map((q) => reader.listIds(q)))).toEqual(before);
      const indexes = (await opened.query<{ name: string }>("SELECT indexname AS name FROM pg_indexes WHERE tablename = 'spindle_tasks' ORDER BY 1")).map((r) => r.name);
      expect(indexes).toEqual(['spindle_tasks_claim', 'spindle_tasks_expiry', 'spindle_tasks_key', 'spindle_tasks_key_expiry',
        'spindle_tasks_lease', 'spindle_tasks_paused', 'spindle_tasks_pkey', 'spindle_tasks_spooled', 'spindle_tasks_type_state']);
      // The runs whose lease ran out, as the abandoned-run sweep selects them.
      const expired = await opened.query<{ id: string }>("SELECT id FROM spindle_tasks WHERE state = 'running' AND lease_until <= $1 ORDER BY id", [100]);
      expect(expired.map((r) => r.id)).toEqual(before[2 + 3 * TASK_STATES.indexOf('running')]!.filter((id) => Number(id) <= 100).sort());
    } finally {
      await opened.close();
    }
  });

  it('bring a database made by migration 7, with tasks in it, to two index entries fewer per task (migration 8): lists, due pages, next due times and claims read as they did', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    // Claimable by type 't', due a minute ago and before: priorities 5, 0, 5, -1, in that claim order.
    const claimable = [[5, 60_000], [0, 90_000], [5, 30_000], [-1, 120_000]].map(([priority, ago], i): TaskRecord => ({
      v: RECORD_VERSION, id: `0000000000000upg80${i}`, type: 't', params: {}, state: 'queued', reason: null, schedule: null, recurring: false,
      priority: priority!, maxTries: 3, timeoutMs: 1000, misfire: 'coalesce', graceMs: 0, tries: 0, runCount: 0, occurrences: 0, firedAt: null,
      interval: null, nextRunAt: Date.now() - ago!, paused: false, key: null, createdAt: 1, updatedAt: 1, endedAt: null, expiresAt: null,
      lastRun: null, history: [], historyChunks: 0, keyExpiresAt: null, keyRetentionMs: null,
    }));
    try {
      await schemaAt(client, 7);
      // 900 tasks of three types in every stored state, interleaved by id; the queued ones over three
      // priorities and due times they share, some paused; the running ones hold a lease.
      await client.query(`INSERT INTO spindle_tasks (id, type, state, paused, priority, next_run_at, owner, lease_until, run, updated_at, record)
        SELECT lpad(g::text, 19, '0'), (ARRAY['email', 'report', 'sms'])[1 + g % 3], s, g % 7 = 0, (ARRAY[0, 3, -2])[1 + g % 3 / 2 + g % 2],
          CASE WHEN s = 'queued' THEN 100 + g % 50 END, CASE WHEN s = 'running' THEN 'rt' END, CASE WHEN s = 'running' THEN g END, 0, 0, '[]'
        FROM generate_series(1, 900) AS g,
          LATERAL (SELECT (ARRAY['spooled', 'queued', 'running', 'finished', 'failed', 'terminated'])[1 + (g * 5 / 4) % 6] AS s) AS x`);
      for (const rec of claimable) {
        await client.query(`INSERT INTO spindle_tasks (id, type, state, paused, priority, next_run_at, run, updated_at, record)
          VALUES ($1, 't', 'queued', false, $2, $3, 0, 1, $4)`, [rec.id, rec.priority, rec.nextRunAt, JSON.stringify(rec)]);
      }
      await client.query(`INSERT INTO spindle_counts (type, state, paused, slot, n)
        SELECT type, state, paused AND state IN ('spooled', 'queued', 'running'), 0, count(*) FROM spindle_tasks GROUP BY 1, 2, 3`);
    } finally {
      await client.end();
    }
    const queries: ListQuery[] = [{ limit: 1000 }];
    for (const state of TASK_STATES) {
      queries.push({ state, limit: 1000 }, { state, type: 'sms', limit: 1000 }, { state, limit: 7, cursor: '0000000000000000600' });
    }
    for (const type of ['email', 'report', 'sms', 't']) queries.push({ type, limit: 1000 }, { type, limit: 9, cursor: '0000000000000000400' });
    const dispatchable = "state = 'queued' AND NOT paused AND next_run_at IS NOT NULL";
    const nextDues: Array<[number, string[]]> = [[0, ['email']], [120, ['report', 'sms']], [149, ['email', 'report', 'sms']], [0, ['t']]];
    // What each read must return, read from the tables before the migration, as plainly as SQL says it.
    const before: string[][] = [];
    const plain = new pg.Client({ connectionString: db.url });
    await plain.connect();
    let due: Array<{ id: string; due: number }>;
    const nextBefore: unknown[] = [];
    try {
      for (const q of queries) {
        const where = ['true'];
        const values: unknown[] = [];
        if (q.state !== undefined) where.push(`state = $${values.push(q.state)}`);
        if (q.type !== undefined) where.push(`type = $${values.push(q.type)}`);
        if (q.cursor !== undefined) where.push(`id < $${values.push(q.cursor)}`);
        const { rows } = await plain.query<{ id: string }>(`SELECT id FROM spindle_tasks WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ${q.limit}`, values);
        before.push(rows.map((r) => r.id));
      }
      due = (await plain.query<{ id: string; due: number }>(`SELECT id, next_run_at::float8 AS due FROM spindle_tasks WHERE ${dispatchable} ORDER BY next_run_at, id`)).rows;
      for (const [after, types] of nextDues) {
        nextBefore.push((await plain.query(`SELECT min(next_run_at)::float8 AS due FROM spindle_tasks WHERE ${dispatchable} AND next_run_at > $1 AND type = ANY($2)`, [after, types])).rows[0]);
      }
    } finally {
      await plain.end();
    }
    expect(before.filter((ids) => ids.length > 0).length).toBeGreaterThan(queries.length / 2);
    expect(due.length).toBeGreaterThan(100);

    const opened = await PgDatabase.open({ url: db.url, log });
    const source = new PgSource({ db: opened, log, leaseMs: 5000 });
    try {
      expect(await versions(db.url)).toEqual(MIGRATIONS.map((m) => m.version));
      const reader = new PgReader(opened, new PgCounts(opened, log));
      expect(await Promise.all(queries.map((q) => reader.listIds(q)))).toEqual(before);
      const paged: Array<{ id: string; due: number }> = [];
      for (let page = await reader.dueAfter(null, 11); page.length > 0; page = await reader.dueAfter(page[page.length - 1]!, 11)) paged.push(...page);
      expect(paged).toEqual(due);
      for (const [i, [after, types]] of nextDues.entries()) expect((await opened.query(NEXT_DUE_SQL, [after, types]))[0]).toEqual(nextBefore[i]);
      const indexes = await opened.query<{ name: string; def: string }>("SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'spindle_tasks' ORDER BY 1");
      expect(indexes.map((r) => r.name)).toEqual(['spindle_tasks_claim', 'spindle_tasks_expiry', 'spindle_tasks_key', 'spindle_tasks_key_expiry',
        'spindle_tasks_lease', 'spindle_tasks_paused', 'spindle_tasks_pkey', 'spindle_tasks_spooled', 'spindle_tasks_type_state']);
      expect(indexes.find((r) => r.name === 'spindle_tasks_type_state')!.def).toContain("WHERE (state <> 'running'::text)");
      // Claimed in claim order (priority, then due time); then listed running, newest first.
      const claims = await source.claim({ pools: [{ free: 4, types: new Map([['t', 4]]) }], start: startRun });
      expect(claims.map((c) => c.rec.id)).toEqual([0, 2, 1, 3].map((i) => claimable[i]!.id));
      const ids = claimable.map((r) => r.id).reverse();
      expect(await reader.listIds({ state: 'running', type: 't', limit: 10 })).toEqual(ids);
      expect(await reader.listIds({ type: 't', limit: 10 })).toEqual(ids);
      expect((await reader.listIds({ state: 'running', limit: 1000 })).filter((id) => id.includes('upg'))).toEqual(ids);
      expect(await reader.listIds({ state: 'queued', type: 't', limit: 10 })).toEqual([]);
    } finally {
      await source.close();
      await opened.close();
    }
  });

  it('refuse a schema newer than this code knows, with STORE_INVALID, and change nothing', async () => {
    await (await PgDatabase.open({ url: db.url, log })).close();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query("INSERT INTO spindle_migrations (version, name) VALUES ($1, 'from the future')", [SCHEMA_VERSION + 1]);
    await client.end();
    await expect(PgDatabase.open({ url: db.url, log })).rejects.toMatchObject({
      code: 'STORE_INVALID', details: { reason: 'schema-newer', schema: SCHEMA_VERSION + 1, known: SCHEMA_VERSION },
    });
    expect(await versions(db.url)).toEqual([...MIGRATIONS.map((m) => m.version), SCHEMA_VERSION + 1]);
  });

  it('answer a URL that is not postgres:// with INVALID_OPTION, and an unreachable server with STORE_UNAVAILABLE', async () => {
    await expect(PgDatabase.open({ url: 'not a url', log })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(PgDatabase.open({ url: 'mysql://root@127.0.0.1/x', log })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    await expect(PgDatabase.open({ url: 'postgres://root@127.0.0.1:1/postgres', log })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/cannot be reached/),
    });
    const missing = new URL(db.url);
    missing.pathname = '/spindle_test_does_not_exist';
    await expect(PgDatabase.open({ url: missing.toString(), log })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/does not exist/),
    });
  });
});

async function tasksOptions(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ o: string[] | null }>("SELECT reloptions AS o FROM pg_class WHERE oid = 'spindle_tasks'::regclass");
    return [...(rows[0]!.o ?? [])].sort();
  } finally {
    await client.end();
  }
}

describe('PostgreSQL migration 9: vacuum settings', () => {
  const ours = ['autovacuum_vacuum_scale_factor=0', 'autovacuum_vacuum_threshold=10000'];

  it('leave spindle_tasks autovacuumed at 10,000 dead rows on a new database', async () => {
    await (await PgDatabase.open({ url: db.url, log })).close();
    expect(await tasksOptions(db.url)).toEqual(ours);
  });

  it('set them on a database made by migration 7, keeping its tasks and an operator\'s own settings; an operator\'s RESET after stays', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await schemaAt(client, 7);
      await client.query(`INSERT INTO spindle_tasks (id, type, state, paused, priority, next_run_at, run, updated_at, record)
        SELECT lpad(g::text, 19, '0'), 't', 'queued', false, 0, g, 0, 0, '[]' FROM generate_series(1, 50) AS g`);
      await client.query('ALTER TABLE spindle_tasks SET (autovacuum_vacuum_cost_limit = 1000)');
    } finally {
      await client.end();
    }
    await (await PgDatabase.open({ url: db.url, log })).close();
    expect(await versions(db.url)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await tasksOptions(db.url)).toEqual(['autovacuum_vacuum_cost_limit=1000', ...ours]);
    const check = new pg.Client({ connectionString: db.url });
    await check.connect();
    try {
      expect((await check.query("SELECT count(*)::int AS n FROM spindle_tasks WHERE state = 'queued'")).rows).toEqual([{ n: 50 }]);
      await check.query('ALTER TABLE spindle_tasks RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold)');
    } finally {
      await check.end();
    }
    await (await PgDatabase.open({ url: db.url, log })).close();
    expect(await tasksOptions(db.url)).toEqual(['autovacuum_vacuum_cost_limit=1000']);
  });
});
