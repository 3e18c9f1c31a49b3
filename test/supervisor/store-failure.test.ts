import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ThreadExecutor } from '../../src/executor/thread-executor.js';
import { LevelSource } from '../../src/store/level-source/level-source.js';
import { systemClock } from '../../src/clock.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { loadRegistry } from '../../src/task/registry.js';
import { FailingStore } from '../helpers/failing-store.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir, waitForState } from '../helpers/runtime.js';

let store: FailingStore;
let executor: ThreadExecutor;
let supervisor: Supervisor;

beforeEach(async () => {
  const log = pino({ level: 'silent' });
  store = new FailingStore({ path: join(tempDir(), 'store'), sync: false });
  await store.open();
  executor = new ThreadExecutor({ workers: 1, logLevel: 'silent' });
  await executor.start();
  supervisor = new Supervisor({
    source: new LevelSource({ store, clock: systemClock, log, windowSize: 1000 }), registry: await loadRegistry({ tasksDir: FIXTURE_TASKS, logger: log }),
    executorFor: () => executor, executors: [executor], clock: systemClock, log, retentionMs: null, keyRetentionMs: 0,
    sweepIntervalMs: 60_000, sweepBatch: 100, maxParamsBytes: 1 << 20, maxOutputBytes: 1 << 20, maxReplyBytes: 4 << 20, random: Math.random,
  });
  await supervisor.start();
});

afterEach(async () => {
  store.failing = false;
  await supervisor.stop(1000);
  await store.close();
  removeTempDirs();
});

describe('S1: a store that refuses writes (a wrapper failing writes on demand)', () => {
  it('answers STORE_UNAVAILABLE, stores and counts nothing, and works again once the store does', async () => {
    store.failing = true;
    await expect(supervisor.submit({ type: 'noop' })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expect(supervisor.submitMany([{ type: 'noop' }, { type: 'noop' }])).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    store.failing = false;
    expect((await supervisor.list()).tasks).toEqual([]);
    expect(supervisor.stats().states).toMatchObject({ queued: 0, running: 0, finished: 0 });
    const t = await supervisor.submit({ type: 'noop' });
    expect((await waitForState(supervisor, t.id)).state).toBe('finished');
    expect(supervisor.stats().states.finished).toBe(1);
  });

  it('keeps a finished run whose write failed, and records it once the store is back', async () => {
    const t = await supervisor.submit({ type: 'sleep', params: { ms: 300 } });
    await waitForState(supervisor, t.id, ['running']);
    store.failing = true;
    await store.nextFailure();
    store.failing = false;
    const done = await waitForState(supervisor, t.id);
    expect(done).toMatchObject({ state: 'finished', runCount: 1, tries: 1 });
    const runs = await supervisor.runs(t.id);
    expect(runs.map((r) => r.state)).toEqual(['finished']);
  });

  it('refuses a control call whose write fails, leaving the task as it was', async () => {
    const t = await supervisor.submit({ type: 'noop', schedule: { in: '1h' } });
    store.failing = true;
    await expect(supervisor.pause(t.id)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    store.failing = false;
    expect(await supervisor.get(t.id)).toMatchObject({ state: 'queued', paused: false });
    expect((await supervisor.pending()).map((p) => p.id)).toEqual([t.id]);
  });
});
