import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Mode, Runtime } from '../../src/index.js';
import { removeTempDirs, startRuntime, waitForState } from '../helpers/runtime.js';

let runtime: Runtime | undefined;

afterEach(async () => {
  await runtime?.stop(2000);
  runtime = undefined;
  removeTempDirs();
});

async function rt(options: Parameters<typeof startRuntime>[0] = {}): Promise<Runtime> {
  runtime = await startRuntime(options);
  return runtime;
}

// Everything that runs a handler, once per executor: both modes keep the same contract.
describe.each<Mode>(['threads', 'processes'])('in %s mode', (mode) => {
  const inMode = (options: Parameters<typeof startRuntime>[0] = {}): Promise<Runtime> => rt({ mode, ...options });

  describe('one-shot lifecycle (SPEC §3)', () => {
    it('runs a task due now to finished and records every transition', async () => {
      const r = await inMode();
      const task = await r.submit({ type: 'echo', params: { hello: 'world' } });
      expect(task.state).toMatch(/queued|running/);
      const done = await waitForState(r, task.id);
      expect(done.state).toBe('finished');
      expect(done.reason).toBeNull();
      expect(done.tries).toBe(1);
      expect(done.lastRun?.output).toEqual({ hello: 'world' });
      const history = await r.history(task.id);
      expect(history.map((h) => `${h.from}>${h.to}`)).toEqual(['none>spooled', 'spooled>queued', 'queued>running', 'running>finished']);
      const runs = await r.runs(task.id);
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ run: 1, attempt: 1, state: 'finished', output: { hello: 'world' } });
    });

    it('retries a throwing handler after its retry delay and finishes when a later try succeeds', async () => {
      const r = await inMode();
      const task = await r.submit({ type: 'flaky', params: { succeedOn: 2 }, maxTries: 3 });
      const done = await waitForState(r, task.id);
      expect(done).toMatchObject({ state: 'finished', tries: 2, runCount: 2 });
      const runs = await r.runs(task.id);
      expect(runs.map((x) => x.state)).toEqual(['failed', 'finished']);
      expect(runs[0]!.error?.code).toBe('HANDLER_ERROR');
      const history = await r.history(task.id);
      expect(history.map((h) => `${h.from}>${h.to}:${h.event}`)).toContain('running>queued:fail');
    });

    it('fails with reason error when the last try throws', async () => {
      const r = await inMode();
      const task = await r.submit({ type: 'throws', maxTries: 2 });
      const done = await waitForState(r, task.id);
      expect(done).toMatchObject({ state: 'failed', reason: 'error', tries: 2 });
      const runs = await r.runs(task.id);
      expect(runs.map((x) => x.error?.code)).toEqual(['HANDLER_ERROR', 'HANDLER_ERROR']);
      expect(runs[0]!.error?.stack).toBeTypeOf('string');
    });

    it('kills a busy loop at its timeout, ends terminated after the last try, and keeps running other tasks', async () => {
      const r = await inMode();
      const task = await r.submit({ type: 'busy-loop', timeout: 300, maxTries: 2 });
      const done = await waitForState(r, task.id);
      expect(done).toMatchObject({ state: 'terminated', reason: 'timeout', tries: 2 });
      const runs = await r.runs(task.id);
      expect(runs.map((x) => x.error?.code)).toEqual(['TIMEOUT', 'TIMEOUT']);
      const after = await r.submit({ type: 'noop' });
      expect((await waitForState(r, after.id)).state).toBe('finished');
      expect(r.stats().workers.size).toBe(2);
    });

    it('counts a worker that exits mid-run as lost, with its exit code', async () => {
      const r = await inMode();
      const task = await r.submit({ type: 'exit', params: { code: 7 }, maxTries: 2 });
      const done = await waitForState(r, task.id);
      expect(done).toMatchObject({ state: 'failed', reason: 'lost', tries: 2 });
      const runs = await r.runs(task.id);
      expect(runs.every((x) => x.state === 'lost' && x.error?.code === 'WORKER_EXITED' && x.error.exitCode === 7)).toBe(true);
      const after = await r.submit({ type: 'noop' });
      expect((await waitForState(r, after.id)).state).toBe('finished');
    });

    // Threads mode: in test/reliability/worker-faults.test.ts (W3), where the runtime runs in a
    // process of its own, since V8 may abort the whole process instead (README, Memory limit).
    if (mode === 'processes') it('ends a handler that exhausts its heap as lost with WORKER_OOM, and the runtime carries on', async () => {
      const r = await inMode({ workerMemory: 32 });
      const task = await r.submit({ type: 'oom', maxTries: 1 });
      const done = await waitForState(r, task.id);
      expect(done).toMatchObject({ state: 'failed', reason: 'lost' });
      expect(done.lastRun?.error?.code).toBe('WORKER_OOM');
      const after = await r.submit({ type: 'noop' });
      expect((await waitForState(r, after.id)).state).toBe('finished');
    });

    it('fails a run whose output is not JSON-serialisable', async () => {
      const r = await inMode();
      const task = await r.submit({ type: 'bad-output', maxTries: 1 });
      const done = await waitForState(r, task.id);
      expect(done).toMatchObject({ state: 'failed', reason: 'error' });
      expect(done.lastRun?.error?.code).toBe('OUTPUT_NOT_SERIALIZABLE');
    });
  });

  describe('control', () => {
    it('cancels a queued task: failed with reason cancelled, never run', async () => {
      const r = await inMode();
      const task = await r.submit({ type: 'noop', schedule: { in: '1h' } });
      const cancelled = await r.cancel(task.id);
      expect(cancelled).toMatchObject({ state: 'failed', reason: 'cancelled', runCount: 0 });
      await expect(r.cancel(task.id)).rejects.toMatchObject({ code: 'INVALID_STATE' });
    });

    it('cancels a running task: its signal is aborted and the run recorded as cancelled', async () => {
      const r = await inMode();
      const task = await r.submit({ type: 'sleep', params: { ms: 60_000 } });
      await waitForState(r, task.id, ['running']);
      const cancelled = await r.cancel(task.id);
      expect(cancelled).toMatchObject({ state: 'failed', reason: 'cancelled' });
      const runs = await r.runs(task.id);
      expect(runs[0]).toMatchObject({ state: 'cancelled', error: { code: 'CANCELLED' } });
      // The slot comes back: another task runs to the end.
      const next = await r.submit({ type: 'noop' });
      expect((await waitForState(r, next.id)).state).toBe('finished');
    });

    it('never starts a paused task; run-now is refused until it is resumed', async () => {
      const r = await inMode();
      const task = await r.submit({ type: 'noop', schedule: { in: '1h' } });
      expect((await r.pause(task.id)).paused).toBe(true);
      await expect(r.pause(task.id)).rejects.toMatchObject({ code: 'INVALID_STATE' });
      await expect(r.runNow(task.id)).rejects.toMatchObject({ code: 'INVALID_STATE' });
      const resumed = await r.resume(task.id);
      expect(resumed).toMatchObject({ paused: false, state: 'queued' });
      await r.runNow(task.id);
      expect((await waitForState(r, task.id)).state).toBe('finished');
    });

    it('answers NOT_FOUND for an unknown id', async () => {
      const r = await inMode();
      await expect(r.get('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(r.cancel('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('returns the live task for a repeated key, refuses other params, and keeps the key after the end for its key retention', async () => {
      const r = await inMode();
      const a = await r.submit({ type: 'echo', params: { n: 1 }, key: 'k1', schedule: { in: '1h' } });
      const b = await r.submit({ type: 'echo', params: { n: 1 }, key: 'k1', schedule: { in: '1h' } });
      expect(b.id).toBe(a.id);
      await expect(r.submit({ type: 'echo', params: { n: 2 }, key: 'k1' })).rejects.toMatchObject({ code: 'KEY_CONFLICT' });
      await r.cancel(a.id);
      await expect(r.submit({ type: 'echo', params: { n: 2 }, key: 'k1' })).rejects.toMatchObject({ code: 'KEY_CONFLICT' });
      expect(await r.submit({ type: 'echo', params: { n: 1 }, key: 'k1', schedule: { in: '1h' } })).toMatchObject({ id: a.id, state: 'failed', reason: 'cancelled' });
    });

    it('with keyRetention 0, frees the key once the task is terminal', async () => {
      const r = await inMode({ keyRetention: 0 });
      const a = await r.submit({ type: 'echo', params: { n: 1 }, key: 'k1', schedule: { in: '1h' } });
      await r.cancel(a.id);
      const c = await r.submit({ type: 'echo', params: { n: 2 }, key: 'k1' });
      expect(c.id).not.toBe(a.id);
    });

    it('creates one task when many submits race on one key', async () => {
      const r = await inMode();
      const views = await Promise.all(Array.from({ length: 20 }, () => r.submit({ type: 'echo', params: { same: true }, key: 'race', schedule: { in: '1h' } })));
      expect(new Set(views.map((v) => v.id)).size).toBe(1);
      expect((await r.list({ type: 'echo' })).tasks).toHaveLength(1);
    });
  });

  describe('submitMany', () => {
    it('stores and runs a batch', async () => {
      const r = await inMode();
      const views = await r.submitMany(Array.from({ length: 50 }, (_, i) => ({ type: 'echo', params: { i } })));
      expect(views.map((v) => v.params)).toEqual(Array.from({ length: 50 }, (_, i) => ({ i })));
      await Promise.all(views.map((v) => waitForState(r, v.id)));
      expect(r.stats().states.finished).toBe(50);
    });
  });

  describe('stats and events', () => {
    it('keeps counts per state and type as tasks move', async () => {
      const r = await inMode();
      const views = await r.submitMany([{ type: 'noop' }, { type: 'noop' }, { type: 'throws', maxTries: 1 }]);
      await Promise.all(views.map((v) => waitForState(r, v.id)));
      const s = r.stats();
      expect(s.states).toMatchObject({ finished: 2, failed: 1, queued: 0, running: 0 });
      expect(s.types.noop).toEqual({ finished: 2 });
      expect(s.workers).toMatchObject({ mode, size: 2 });
    });

    it('emits task.state, run.started, run.progress and run.ended after they are written', async () => {
      const r = await inMode();
      const seen: string[] = [];
      r.subscribe({ type: 'progress' }, (ev) => seen.push(ev.event === 'task.state' ? `state:${ev.data.to}` : ev.event));
      const task = await r.submit({ type: 'progress' });
      await waitForState(r, task.id);
      expect(seen).toEqual(expect.arrayContaining(['state:running', 'run.started', 'run.progress', 'run.ended', 'state:finished']));
      expect(seen.indexOf('run.started')).toBeLessThan(seen.indexOf('run.ended'));
    });
  });
});

describe('submit validation (one runtime; nothing in this block is ever stored)', () => {
  let shared: Runtime;
  beforeAll(async () => {
    shared = await startRuntime();
  });
  afterAll(async () => {
    await shared.stop(2000);
  });

  it('B1: refuses unknown types, storing nothing', async () => {
    await expect(shared.submit({ type: 'no-such-type' })).rejects.toMatchObject({ code: 'UNKNOWN_TYPE' });
    await expect(shared.submit({ type: '../../x' })).rejects.toMatchObject({ code: 'UNKNOWN_TYPE' });
    expect((await shared.list()).tasks).toHaveLength(0);
  });

  it.each([-1, 0, 1.5, '1000', null, true, 1e309, 2 ** 53, 30 * 24 * 3600 * 1000, Number.NaN])(
    'B4: refuses timeout %s with INVALID_ARGUMENT naming the field, storing nothing',
    async (timeout) => {
      await expect(shared.submit({ type: 'noop', timeout })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'timeout' } });
      expect((await shared.list()).tasks).toHaveLength(0);
    },
  );

  it.each([-1, 0, 1.5, '3', null, true, 1e309])('B4: refuses maxTries %s with INVALID_ARGUMENT naming the field', async (maxTries) => {
    await expect(shared.submit({ type: 'noop', maxTries })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'maxTries' } });
  });

  it('refuses a whole submitMany when one entry is bad, naming its index', async () => {
    await expect(shared.submitMany([{ type: 'noop' }, { type: 'noop', timeout: -5 }, { type: 'noop' }]))
      .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'tasks[1].timeout' } });
    expect((await shared.list()).tasks).toHaveLength(0);
  });
});

describe('list', () => {
  it('pages newest first with a cursor and refuses bad limits, states and cursors', async () => {
    const r = await rt();
    const views = await r.submitMany(Array.from({ length: 5 }, () => ({ type: 'noop', schedule: { in: '1h' } })));
    const first = await r.list({ state: 'queued', limit: 3 });
    expect(first.tasks.map((t) => t.id)).toEqual(views.slice(2).reverse().map((v) => v.id));
    const second = await r.list({ state: 'queued', limit: 3, cursor: first.cursor! });
    expect(second.tasks.map((t) => t.id)).toEqual(views.slice(0, 2).reverse().map((v) => v.id));
    expect(second.cursor).toBeNull();
    expect((await r.pending({ limit: 2 })).map((t) => t.id)).toEqual(views.slice(0, 2).map((v) => v.id));
    await expect(r.list({ limit: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'limit' } });
    await expect(r.list({ limit: 1e9 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'limit' } });
    await expect(r.list({ state: 'bogus' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'state' } });
    await expect(r.list({ cursor: '../x' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'cursor' } });
  });
});
