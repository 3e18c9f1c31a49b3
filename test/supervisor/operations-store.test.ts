import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PurgePreview } from '../../src/api/runtime-api.js';
import { systemClock } from '../../src/clock.js';
import { ThreadExecutor } from '../../src/executor/thread-executor.js';
import { LevelSource } from '../../src/store/level-source/level-source.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { loadRegistry } from '../../src/task/registry.js';
import { FailingStore } from '../helpers/failing-store.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir } from '../helpers/runtime.js';

/**
 * The operations at the supervisor, over the LevelDB source on a real store that fails writes on
 * demand: a refused write changes nothing (counts included), and operations racing on one task
 * leave it in one consistent state.
 */
let path: string;
let store: FailingStore;
let executor: ThreadExecutor;
let supervisor: Supervisor;

async function start(): Promise<void> {
  const log = pino({ level: 'silent' });
  store = new FailingStore({ path, sync: false });
  await store.open();
  executor = new ThreadExecutor({ workers: 1, logLevel: 'silent' });
  await executor.start();
  supervisor = new Supervisor({
    source: new LevelSource({ store, clock: systemClock, log, windowSize: 1000 }), registry: await loadRegistry({ tasksDir: FIXTURE_TASKS, logger: log }),
    executorFor: () => executor, executors: [executor], clock: systemClock, log, retentionMs: null, keyRetentionMs: 0,
    sweepIntervalMs: 60_000, sweepBatch: 100, maxParamsBytes: 1 << 20, maxOutputBytes: 1 << 20, maxReplyBytes: 4 << 20, random: Math.random,
  });
  await supervisor.start();
}

async function stop(): Promise<void> {
  store.failing = false;
  await supervisor.stop(1000);
  await store.close();
}

beforeEach(async () => {
  path = join(tempDir(), 'store');
  await start();
});

afterEach(async () => {
  await stop();
  removeTempDirs();
});

const FAR = '2035-01-01T00:00:00Z';

async function failed(): Promise<string> {
  const t = await supervisor.submit({ type: 'echo', schedule: { at: FAR } });
  await supervisor.cancel(t.id);
  return t.id;
}

describe('a write that fails', () => {
  it('leaves a deleted task, its runs and the counts as they were; a later delete goes through', async () => {
    const id = await failed();
    store.failing = true;
    await expect(supervisor.delete(id)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    store.failing = false;
    expect((await supervisor.get(id)).state).toBe('failed');
    expect(supervisor.stats().states.failed).toBe(1);
    await supervisor.delete(id);
    expect(supervisor.stats().states.failed).toBe(0);
    // Written: a restart reads the same.
    await stop();
    await start();
    await expect(supervisor.get(id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(supervisor.stats().states.failed).toBe(0);
  });

  it('leaves a type unpaused when its pause could not be stored', async () => {
    store.failing = true;
    await expect(supervisor.setTypePaused('echo', true)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    store.failing = false;
    expect(supervisor.stats().pausedTypes).toEqual([]);
    await supervisor.setTypePaused('echo', true);
    expect(supervisor.stats().pausedTypes).toEqual(['echo']);
  });

  it('leaves a retried task failed and a rescheduled one on its old schedule', async () => {
    const id = await failed();
    const every = await supervisor.submit({ type: 'echo', schedule: { every: '1h', start: FAR } });
    store.failing = true;
    await expect(supervisor.retry(id)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expect(supervisor.reschedule(every.id, { every: '2h', start: '2036-01-01T00:00:00Z' })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    store.failing = false;
    expect(await supervisor.get(id)).toMatchObject({ state: 'failed', reason: 'cancelled' });
    expect(await supervisor.get(every.id)).toMatchObject({ nextRunAt: '2035-01-01T00:00:00.000Z', schedule: { every: '1h' } });
    expect(supervisor.stats().states).toMatchObject({ failed: 1, queued: 1 });
  });
});

describe('operations racing on one task', () => {
  it('a retry and a delete sent together: one wins, the other is refused, and the store agrees', async () => {
    await supervisor.setTypePaused('echo', true); // a retried task stays queued: nothing moves but the operations
    for (let i = 0; i < 10; i++) {
      const id = await failed();
      // Either sent first: the one sent first loads the task first and decides first.
      const [retried, deleted] = i % 2 === 0
        ? await Promise.allSettled([supervisor.retry(id), supervisor.delete(id)])
        : (await Promise.allSettled([supervisor.delete(id), supervisor.retry(id)])).reverse() as [PromiseSettledResult<unknown>, PromiseSettledResult<unknown>];
      const outcomes = [retried.status, deleted.status];
      expect(outcomes.filter((s) => s === 'fulfilled')).toHaveLength(1);
      const refused = (retried.status === 'rejected' ? retried.reason : (deleted as PromiseRejectedResult).reason) as { code: string };
      expect(['NOT_FOUND', 'INVALID_STATE']).toContain(refused.code);
      if (deleted.status === 'fulfilled') await expect(supervisor.get(id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      else expect((await supervisor.get(id)).state).toBe('queued');
    }
    const stats = supervisor.stats();
    const listed = (await supervisor.list({ limit: 1000 })).tasks;
    const byState = (s: string): number => listed.filter((t) => t.state === s).length;
    for (const s of ['queued', 'running', 'finished', 'failed'] as const) expect(stats.states[s], s).toBe(byState(s));
    expect(listed).toHaveLength(stats.states.queued! + stats.states.failed!);
    // And the store itself, read back after a restart.
    await stop();
    await start();
    expect(supervisor.stats().states).toEqual(stats.states);
    expect((await supervisor.list({ limit: 1000 })).tasks.map((t) => t.id)).toEqual(listed.map((t) => t.id));
  });

  it('a purge confirmed while one of its tasks is retried leaves that one alone', async () => {
    const ids = [await failed(), await failed(), await failed()];
    const preview = await supervisor.purge({ state: 'failed' }) as PurgePreview;
    expect(preview.count).toBe(3);
    await supervisor.setTypePaused('echo', true);
    await supervisor.retry(ids[1]!);
    const result = await supervisor.purge({ state: 'failed', confirm: preview.confirm });
    expect(result).toMatchObject({ deleted: 2 });
    expect((await supervisor.get(ids[1]!)).state).toBe('queued');
    expect(supervisor.stats().states).toMatchObject({ failed: 0, queued: 1 });
  });
});
