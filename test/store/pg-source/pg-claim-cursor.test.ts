import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { CLAIM_FUNCTION_SQL } from '../../../src/store/pg-source/claims.js';
import { pgTestBed, startPgRuntime, type PgRuntime } from '../../helpers/pg-supervisor.js';
import { until, waitForState } from '../../helpers/runtime.js';
import { startRun } from './start-run.js';

const bed = pgTestBed();
const FAR = 9e15;

/** A runtime whose one slot a long sleep holds, so the tasks submitted next stay queued for the claims a test makes. */
async function busyRuntime(): Promise<PgRuntime> {
  const runtime = await startPgRuntime(bed.db.url, { workers: 1 });
  bed.runtimes.push(runtime);
  const busy = await runtime.supervisor.submit({ type: 'sleep', params: { ms: 600_000 }, maxTries: 1 });
  await waitForState(runtime.supervisor, busy.id, ['running']);
  return runtime;
}

async function claimIds(runtime: PgRuntime, free: number): Promise<string[]> {
  const claims = await runtime.source.claim({ pools: [{ free, types: new Map([['noop', free]]) }], start: startRun });
  return claims.map((c) => c.rec.id);
}

describe('the claim function read from a cursor (real PostgreSQL)', () => {
  it('returns the tasks after the cursor in claim order, then the lower priorities, never the ones before it', async () => {
    const { supervisor } = await busyRuntime();
    const high = await supervisor.submit({ type: 'noop', priority: 3 });
    const mid = await supervisor.submitMany(Array.from({ length: 12 }, () => ({ type: 'noop' })));
    const low = await supervisor.submitMany(Array.from({ length: 3 }, () => ({ type: 'noop', priority: -1 })));
    const client = new pg.Client({ connectionString: bed.db.url });
    await client.connect();
    try {
      await client.query(CLAIM_FUNCTION_SQL);
      const due = new Map((await client.query<{ id: string; due: string }>('SELECT id, next_run_at AS due FROM spindle_tasks')).rows.map((r) => [r.id, Number(r.due)]));
      const claim = async (limit: number, cursor: [number, string] | null): Promise<string[]> => {
        await client.query('BEGIN');
        try {
          const at = cursor === null ? [null, null, null] : [0, due.get(cursor[1])!, cursor[1]];
          const { rows } = await client.query<{ id: string }>('SELECT id FROM pg_temp.spindle_claim($1, $2, $3, $4, $5, $6, $7)', [FAR, ['noop'], [], limit, ...at]);
          return rows.map((r) => r.id);
        } finally {
          await client.query('ROLLBACK');
        }
      };
      const ids = (tasks: Array<{ id: string }>): string[] => tasks.map((t) => t.id);
      expect(await claim(3, null)).toEqual([high.id, mid[0]!.id, mid[1]!.id]);
      expect(await claim(5, [0, mid[3]!.id])).toEqual(ids(mid.slice(4, 9)));
      expect(await claim(20, [0, mid[9]!.id])).toEqual([...ids(mid.slice(10)), ...ids(low)]);
      expect(await claim(20, [0, mid[11]!.id])).toEqual(ids(low));
    } finally {
      await client.end();
    }
  });
});

describe('claims from a cursor (real PostgreSQL)', () => {
  it('go on where the last claim stopped, and a task this runtime queues before the cursor is claimed next', async () => {
    const runtime = await busyRuntime();
    const { supervisor } = runtime;
    const tasks = (await supervisor.submitMany(Array.from({ length: 30 }, () => ({ type: 'noop' })))).map((t) => t.id);
    expect(await claimIds(runtime, 10)).toEqual(tasks.slice(0, 10));
    expect(await claimIds(runtime, 10)).toEqual(tasks.slice(10, 20));
    const urgent = await supervisor.submit({ type: 'noop', priority: 5 });
    expect(await claimIds(runtime, 3)).toEqual([urgent.id, ...tasks.slice(20, 22)]);
  });

  it('two claims in one transaction, one leaving tasks over a type\'s limit: the next claim takes what they left, in order', async () => {
    const runtime = await busyRuntime();
    const tasks = (await runtime.supervisor.submitMany(Array.from({ length: 20 }, () => ({ type: 'noop' })))).map((t) => t.id);
    // A limit of 2 for the type with 5 slots free: each claim reads 5 and leaves 3 queued.
    const request = { pools: [{ free: 5, types: new Map([['noop', 2]]) }], start: startRun };
    const [a, b] = await Promise.all([runtime.source.claim(request), runtime.source.claim(request)]);
    const taken = new Set([...a, ...b].map((c) => c.rec.id));
    expect(taken.size).toBe(4);
    expect(await claimIds(runtime, 3)).toEqual(tasks.filter((id) => !taken.has(id)).slice(0, 3));
  });

  it('a task a claim passed over while another transaction held it is claimed once that one lets it go, by the next tick at most', async () => {
    const runtime = await busyRuntime();
    const tasks = (await runtime.supervisor.submitMany(Array.from({ length: 20 }, () => ({ type: 'noop' })))).map((t) => t.id);
    expect(await claimIds(runtime, 3)).toEqual(tasks.slice(0, 3));
    const holder = new pg.Client({ connectionString: bed.db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM spindle_tasks WHERE id = $1 FOR UPDATE', [tasks[3]]);
      expect(await claimIds(runtime, 3)).toEqual(tasks.slice(4, 7));
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    const claimed: string[] = [];
    await until(async () => {
      claimed.push(...await claimIds(runtime, 1));
      return claimed.includes(tasks[3]!);
    }, { ms: 10_000, what: 'the task passed over to be claimed' });
    // Claimed in order otherwise: nothing was taken twice, and all before it in claim order came first.
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed).toEqual(tasks.slice(7, 7 + claimed.length - 1).concat(tasks[3]!));
  });
});
