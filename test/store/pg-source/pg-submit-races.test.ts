import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PgDatabase } from '../../../src/store/pg-source/pg-database.js';
import { PgSource } from '../../../src/store/pg-source/pg-source.js';
import type { NewTask, WriteContext } from '../../../src/store/task-source.js';
import type { TaskRecord } from '../../../src/task/record.js';
import { RECORD_VERSION } from '../../../src/task/record.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/pg.js';

const log = pino({ level: 'silent' });
let db: TestDatabase;
let opened: PgDatabase[] = [];
let sources: PgSource[] = [];
let seq = 0;

beforeEach(async () => {
  db = await createTestDatabase();
  opened = await Promise.all([0, 1].map(() => PgDatabase.open({ url: db.url, log, poolSize: 6 })));
  sources = opened.map((d) => new PgSource({ db: d, log, leaseMs: 5000 }));
});

afterEach(async () => {
  await Promise.all(sources.map((s) => s.close()));
  await Promise.all(opened.map((d) => d.close()));
  await db.drop();
});

/** A queued task due in an hour, as a submit's decision builds it (the supervisor's is tested elsewhere). */
function newTask(type: string, key: string | null, ended?: (rec: TaskRecord, w: WriteContext) => void): NewTask {
  return {
    type, key,
    create: (w: WriteContext): TaskRecord => endedBy(ended, w, {
      v: RECORD_VERSION, id: `${(w.now).toString(36).padStart(9, '0')}${(seq++).toString(36).padStart(4, '0')}race00`, type, params: null,
      state: 'queued', reason: null, schedule: null, recurring: false, priority: 0, maxTries: 1, timeoutMs: 1000, misfire: 'coalesce', graceMs: 0,
      tries: 0, runCount: 0, occurrences: 0, firedAt: null, interval: null, nextRunAt: w.now + 3_600_000, paused: false, key, createdAt: w.now,
      updatedAt: w.now, endedAt: null, expiresAt: null, lastRun: null, history: [], historyChunks: 0, keyExpiresAt: null, keyRetentionMs: null,
    }),
    conflict: () => null,
  };
}

function endedBy(ended: ((rec: TaskRecord, w: WriteContext) => void) | undefined, w: WriteContext, rec: TaskRecord): TaskRecord {
  ended?.(rec, w);
  return rec;
}

async function rows(): Promise<number> {
  return (await opened[0]!.query<{ n: number }>('SELECT count(*)::int AS n FROM spindle_tasks'))[0]!.n;
}

describe('submits racing on two runtimes sharing a database', () => {
  it('one new key submitted 20 times at once: one task is created, every submit gets it', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      sources[i % 2]!.submit({ tasks: [newTask('t', 'same\u0000key')], maxQueued: new Map() })));
    const ids = new Set(answers.map((a) => a[0]!.rec.id));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => !a[0]!.existing)).toHaveLength(1);
    expect(await rows()).toBe(1);
  });

  it('maxQueued is counted inside the write: 20 submits at once against a limit of 5 create exactly 5', async () => {
    const maxQueued = new Map([['capped', 5]]);
    const settled = await Promise.allSettled(Array.from({ length: 20 }, (_, i) =>
      sources[i % 2]!.submit({ tasks: [newTask('capped', null)], maxQueued })));
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(5);
    const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(refused).toHaveLength(15);
    expect(refused.every((r) => (r.reason as { code?: string }).code === 'QUEUE_FULL')).toBe(true);
    expect(await rows()).toBe(5);
  });

  it('maxQueued reads what every runtime committed: retries open past it (as on LevelDB), tasks ended on another runtime free places at once', async () => {
    const maxQueued = new Map([['capped', 10]]);
    const failed = (rec: TaskRecord, w: WriteContext): void => {
      rec.state = 'failed';
      rec.endedAt = w.now;
      rec.nextRunAt = null;
    };
    // Two ended tasks of the type: they take no place.
    const ended = await sources[0]!.submit({ tasks: [newTask('capped', null, failed), newTask('capped', null, failed)], maxQueued });
    const settled = await Promise.allSettled(Array.from({ length: 20 }, (_, i) =>
      sources[i % 2]!.submit({ tasks: [newTask('capped', null)], maxQueued })));
    const created = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value[0]!.rec.id] : []));
    expect(created).toHaveLength(10);
    // A retry is not a submit: it opens an ended task even with the type at its limit, and the next submit counts it.
    await sources[1]!.update(ended[0]!.rec.id, (rec) => {
      rec.state = 'queued';
      rec.endedAt = null;
      rec.nextRunAt = rec.updatedAt + 3_600_000;
    });
    await expect(sources[0]!.submit({ tasks: [newTask('capped', null)], maxQueued })).rejects.toMatchObject({
      code: 'QUEUE_FULL', message: expect.stringMatching(/already has 11 open tasks/),
    });
    // Two ended on the other runtime: two places, counted at once (not a second later).
    for (const id of created.slice(0, 2)) await sources[1]!.update(id, (rec, w) => failed(rec, w));
    await expect(sources[0]!.submit({ tasks: [newTask('capped', null), newTask('capped', null)], maxQueued })).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    await sources[0]!.submit({ tasks: [newTask('capped', null)], maxQueued });
    const open = await opened[0]!.query<{ n: number }>("SELECT count(*)::int AS n FROM spindle_tasks WHERE type = 'capped' AND state = 'queued'");
    expect(open[0]!.n).toBe(10);
  });

  it('a key whose hold ran out but was not swept yet goes to the next submit, released in the same write', async () => {
    const source = sources[0]!;
    // Ended, its hold over a ms ago: the key column still names it (nothing swept).
    const [old] = await source.submit({ tasks: [newTask('t', 'k', (rec, w) => {
      rec.state = 'finished';
      rec.endedAt = w.now;
      rec.nextRunAt = null;
      rec.keyExpiresAt = w.now - 1;
    })], maxQueued: new Map() });
    const [next] = await source.submit({ tasks: [newTask('t', 'k')], maxQueued: new Map() });
    expect(next).toMatchObject({ existing: false });
    expect(next!.rec.id).not.toBe(old!.rec.id);
    const keys = await opened[0]!.query<{ id: string; key: string | null }>('SELECT id, key FROM spindle_tasks ORDER BY id');
    expect(keys).toEqual([{ id: old!.rec.id, key: null }, { id: next!.rec.id, key: 'k' }]);
    expect(await source.reader.get(old!.rec.id)).toMatchObject({ keyExpiresAt: null });
  });
});
