import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PgDatabase } from '../../../src/store/pg-source/pg-database.js';
import { PgSource } from '../../../src/store/pg-source/pg-source.js';
import type { ClaimRequest, NewTask, WriteContext } from '../../../src/store/task-source.js';
import type { TaskRecord } from '../../../src/task/record.js';
import { RECORD_VERSION } from '../../../src/task/record.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/pg.js';
import { startRun } from './start-run.js';

const log = pino({ level: 'silent' });
let db: TestDatabase;
let opened: PgDatabase;
let source: PgSource;
let seq = 0;

beforeEach(async () => {
  db = await createTestDatabase();
  opened = await PgDatabase.open({ url: db.url, log, poolSize: 4 });
  source = new PgSource({ db: opened, log, leaseMs: 5000 });
});

afterEach(async () => {
  await source.close();
  await opened.close();
  await db.drop();
});

/** A queued task due now. */
function dueTask(): NewTask {
  return {
    type: 't', key: null,
    create: (w: WriteContext): TaskRecord => ({
      v: RECORD_VERSION, id: `${w.now.toString(36).padStart(9, '0')}${(seq++).toString(36).padStart(4, '0')}clm000`, type: 't', params: null,
      state: 'queued', reason: null, schedule: null, recurring: false, priority: 0, maxTries: 3, timeoutMs: 1000, misfire: 'coalesce', graceMs: 0,
      tries: 0, runCount: 0, occurrences: 0, firedAt: null, interval: null, nextRunAt: w.now - 1, paused: false, key: null, createdAt: w.now,
      updatedAt: w.now, endedAt: null, expiresAt: null, lastRun: null, history: [], historyChunks: 0, keyExpiresAt: null, keyRetentionMs: null,
    }),
    conflict: () => null,
  };
}

/** A claim of up to `free` tasks of type t, starting each as the supervisor's decision does. */
function request(free: number): ClaimRequest {
  return {
    pools: [{ free, types: new Map([['t', free]]) }],
    start: startRun,
  };
}

describe('claims sharing one transaction (group commit)', () => {
  it('two claims made in the same moment never take the same task: each due task is claimed once', async () => {
    await source.submit({ tasks: Array.from({ length: 10 }, dueTask), maxQueued: new Map() });
    // Asked in one turn, both go in one shared transaction: the second must not take again the
    // rows the first locked and decided but has not written yet.
    const [a, b] = await Promise.all([source.claim(request(10)), source.claim(request(10))]);
    const ids = [...a, ...b].map((c) => c.rec.id);
    expect(ids).toHaveLength(10);
    expect(new Set(ids).size).toBe(10);
    const rows = await opened.query<{ n: number }>("SELECT count(*)::int AS n FROM spindle_tasks WHERE state = 'running' AND run = 1");
    expect(rows[0]!.n).toBe(10);
  });
});
