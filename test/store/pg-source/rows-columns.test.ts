import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PgDatabase } from '../../../src/store/pg-source/pg-database.js';
import { insertTasks, STALE_ROWS, taskOfColumn, UPDATE_FUNCTION_SQL, updateTasks } from '../../../src/store/pg-source/rows.js';
import type { TaskRecord } from '../../../src/task/record.js';
import { RECORD_VERSION } from '../../../src/task/record.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/pg.js';

let db: TestDatabase;
let pgdb: PgDatabase;

beforeEach(async () => {
  db = await createTestDatabase();
  pgdb = await PgDatabase.open({ url: db.url, log: pino({ level: 'silent' }) });
});

afterEach(async () => {
  await pgdb.close();
  await db.drop();
});

const record = (id: string, over: Partial<TaskRecord>): TaskRecord => ({
  v: RECORD_VERSION, id, type: 't', params: {}, state: 'queued', reason: null, schedule: null, recurring: false, priority: 0, maxTries: 3,
  timeoutMs: 1000, misfire: 'coalesce', graceMs: 0, tries: 0, runCount: 0, occurrences: 0, firedAt: null, interval: null, nextRunAt: 0,
  paused: false, key: null, createdAt: 1, updatedAt: 1, endedAt: null, expiresAt: null, lastRun: null, history: [], historyChunks: 0,
  keyExpiresAt: null, keyRetentionMs: null, ...over,
});

const COLUMNS = `id, type, state, paused, priority, next_run_at::float8 AS next_run_at, key, key_expires_at::float8 AS key_expires_at,
  expires_at::float8 AS expires_at, owner, lease_until::float8 AS lease_until, run, updated_at::float8 AS updated_at, record, version::float8 AS version`;

describe('a batch of task rows sent as binary arrays (PostgreSQL)', () => {
  it('stores every column as the record says: ASCII and other text, long text, NULs in keys, nulls, negative and large instants', async () => {
    const long = 'x'.repeat(200);
    const recs = [
      record('0000000000000col001', { type: 'ascii', key: 'plain', nextRunAt: 1_796_638_294_052, keyExpiresAt: 2 ** 40 + 7, priority: -5 }),
      record('0000000000000col002', { type: `tÿpe-é-${long}`, key: 'k\u0000é😀\\n', nextRunAt: -86_400_001, expiresAt: 0, paused: true }),
      record('0000000000000col003', { type: long, key: null, state: 'finished', nextRunAt: null, expiresAt: 2 ** 53 - 1, priority: 2 ** 31 - 1 }),
    ];
    const client = await pgdb.pool.connect();
    try {
      await client.query(UPDATE_FUNCTION_SQL);
      await insertTasks(client, recs.map((rec) => ({ rec, holder: { owner: null, leaseUntil: null } })));
      const running = { ...recs[0]!, state: 'running' as const, lastRun: null, updatedAt: 2 ** 33 + 1 };
      await updateTasks(client, [{ rec: running, holder: { owner: 'runtime-é', leaseUntil: 2 ** 41 }, version: 0 }]);
      const rows = (await client.query(`SELECT ${COLUMNS} FROM spindle_tasks ORDER BY id`)).rows;
      expect(rows.map(({ record: text, ...columns }) => ({ ...columns, rec: taskOfColumn(text as string) }))).toEqual([
        { id: recs[0]!.id, type: 'ascii', state: 'running', paused: false, priority: -5, next_run_at: 1_796_638_294_052, key: 'plain', key_expires_at: 2 ** 40 + 7,
          expires_at: null, owner: 'runtime-é', lease_until: 2 ** 41, run: 0, updated_at: 2 ** 33 + 1, version: 1, rec: running },
        { id: recs[1]!.id, type: recs[1]!.type, state: 'queued', paused: true, priority: 0, next_run_at: -86_400_001, key: 'k\\0é😀\\\\n', key_expires_at: null,
          expires_at: 0, owner: null, lease_until: null, run: 0, updated_at: 1, version: 0, rec: recs[1] },
        { id: recs[2]!.id, type: long, state: 'finished', paused: false, priority: 2 ** 31 - 1, next_run_at: null, key: null, key_expires_at: null,
          expires_at: 2 ** 53 - 1, owner: null, lease_until: null, run: 0, updated_at: 1, version: 0, rec: recs[2] },
      ]);
    } finally {
      client.release();
    }
  });

  it('writes a batch only if every row is still the version its change was made from: one changed since fails it with a serialization failure\'s code', async () => {
    const recs = ['0000000000000ver001', '0000000000000ver002', '0000000000000ver003'].map((id) => record(id, {}));
    const client = await pgdb.pool.connect();
    try {
      await client.query(UPDATE_FUNCTION_SQL);
      await insertTasks(client, recs.map((rec) => ({ rec, holder: { owner: null, leaseUntil: null } })));
      const change = (rec: TaskRecord, version: number) => ({ rec: { ...rec, priority: 7 }, holder: { owner: null, leaseUntil: null }, version });
      // Ids out of order: the rows are taken in id order all the same.
      await updateTasks(client, [change(recs[2]!, 0), change(recs[0]!, 0)]);
      await client.query('BEGIN');
      // recs[0] is at version 1 now: a change made from version 0 is stale.
      await expect(updateTasks(client, [change(recs[1]!, 0), change(recs[0]!, 0)])).rejects.toMatchObject({ code: STALE_ROWS });
      await client.query('ROLLBACK');
      const rows = (await client.query('SELECT id, priority, version::float8 AS version FROM spindle_tasks ORDER BY id')).rows;
      expect(rows).toEqual([
        { id: recs[0]!.id, priority: 7, version: 1 },
        { id: recs[1]!.id, priority: 0, version: 0 },
        { id: recs[2]!.id, priority: 7, version: 1 },
      ]);
    } finally {
      client.release();
    }
  });
});
