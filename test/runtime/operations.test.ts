import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import type { PurgePreview, PurgeResult, Runtime } from '../../src/index.js';
import { LevelStore } from '../../src/store/level-store.js';
import { removeTempDirs, startRuntime, tempDir, until, waitForState } from '../helpers/runtime.js';

/**
 * The everyday operations through the in-process Runtime, on a real LevelDB store and real
 * worker threads: retry, delete, purge, reschedule, pause a type, list paused tasks.
 */
let runtime: Runtime | undefined;

afterEach(async () => {
  await runtime?.stop(2000);
  runtime = undefined;
  removeTempDirs();
});

async function rt(data = tempDir()): Promise<Runtime> {
  runtime = await startRuntime({ data });
  return runtime;
}

async function restart(data: string): Promise<Runtime> {
  await runtime?.stop(2000);
  return rt(data);
}

const FAR = '2035-01-01T00:00:00.000Z';
const code = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'resolved', (err: { code?: string }) => err.code);

/** A failed task: submitted for later, then cancelled (failed, reason cancelled). */
async function failedTask(r: Runtime, type = 'echo', params: unknown = { n: 1 }): Promise<string> {
  const t = await r.submit({ type, params, schedule: { at: FAR } });
  await r.cancel(t.id);
  return t.id;
}

describe('retry', () => {
  it('queues a failed task again with fresh tries, due now; it runs, and its history and runs are kept', async () => {
    const r = await rt();
    const t = await r.submit({ type: 'throws', maxTries: 2 });
    const failed = await waitForState(r, t.id);
    expect(failed).toMatchObject({ state: 'failed', reason: 'error', tries: 2, runCount: 2 });

    // Due at once: it may be claimed in the very write that queues it, so it answers queued or running.
    const retried = await r.retry(t.id);
    expect(retried).toMatchObject({ state: expect.stringMatching(/^(queued|running)$/), reason: null, endedAt: null });
    expect(retried.tries).toBeLessThanOrEqual(1);
    const again = await waitForState(r, t.id);
    expect(again).toMatchObject({ state: 'failed', reason: 'error', tries: 2, runCount: 4 });
    const runs = await r.runs(t.id);
    expect(runs.map((x) => `${x.run}:${x.attempt}`)).toEqual(['1:1', '2:2', '3:1', '4:2']);
    const history = await r.history(t.id);
    expect(history.filter((h) => h.event === 'retry')).toEqual([expect.objectContaining({ from: 'failed', to: 'queued', reason: null })]);
    expect(history.map((h) => h.to).slice(0, 6)).toEqual(['spooled', 'queued', 'running', 'queued', 'running', 'failed']);
  });

  it('runs a cancelled task (failed, cancelled) now, unpaused, and it finishes', async () => {
    const r = await rt();
    const t = await r.submit({ type: 'echo', params: { hi: 1 }, schedule: { at: FAR } });
    await r.pause(t.id);
    await r.cancel(t.id);
    const retried = await r.retry(t.id);
    expect(retried.paused).toBe(false);
    expect(await waitForState(r, t.id)).toMatchObject({ state: 'finished', lastRun: { output: { hi: 1 } } });
    expect(r.stats().states).toMatchObject({ finished: 1, failed: 0 });
  });

  it('keeps the idempotency key while its hold lasts', async () => {
    const r = await rt();
    const t = await r.submit({ type: 'echo', key: 'k-retry', keyRetention: '1h', schedule: { at: FAR } });
    await r.cancel(t.id);
    expect((await r.retry(t.id)).key).toBe('k-retry');
    expect((await r.submit({ type: 'echo', key: 'k-retry' })).id).toBe(t.id);
  });

  it('refuses a live, a finished or an unknown task', async () => {
    const r = await rt();
    const live = await r.submit({ type: 'echo', schedule: { at: FAR } });
    const done = await r.submit({ type: 'echo' });
    await waitForState(r, done.id);
    expect(await code(r.retry(live.id))).toBe('INVALID_STATE');
    await expect(r.retry(done.id)).rejects.toThrow(/finished; submit it anew/);
    expect(await code(r.retry('0000000000000abcdef'))).toBe('NOT_FOUND');
  });
});

describe('delete and purge', () => {
  it('deletes an ended task with its runs and history; the counts follow; a live one is refused', async () => {
    const r = await rt();
    const done = await r.submit({ type: 'echo' });
    await waitForState(r, done.id);
    const live = await r.submit({ type: 'echo', schedule: { at: FAR } });
    expect(r.stats().states).toMatchObject({ finished: 1, queued: 1 });

    expect(await r.delete(done.id)).toEqual({ id: done.id, deleted: true });
    expect(await code(r.get(done.id))).toBe('NOT_FOUND');
    expect(await code(r.runs(done.id))).toBe('NOT_FOUND');
    expect(await code(r.delete(done.id))).toBe('NOT_FOUND');
    expect(await code(r.delete(live.id))).toBe('INVALID_STATE');
    expect(r.stats().states).toMatchObject({ finished: 0, queued: 1 });
    expect((await r.list({ state: 'finished' })).tasks).toEqual([]);
  });

  it('purges by state and type after a count and a confirmation, single use', async () => {
    const r = await rt();
    const echoes = [await failedTask(r), await failedTask(r), await failedTask(r)];
    const noop = await failedTask(r, 'noop', null);

    const preview = await r.purge({ state: 'failed', type: 'echo' }) as PurgePreview;
    expect(preview).toMatchObject({ filter: { state: 'failed', type: 'echo' }, count: 3, confirm: expect.any(String) });
    expect(r.stats().states.failed).toBe(4); // counting deleted nothing
    expect(await code(r.purge({ state: 'failed', confirm: preview.confirm }))).toBe('CONFIRMATION_INVALID');

    const result = await r.purge({ state: 'failed', type: 'echo', confirm: preview.confirm }) as PurgeResult;
    expect(result).toEqual({ filter: { state: 'failed', type: 'echo' }, deleted: 3, skipped: 0 });
    for (const id of echoes) expect(await code(r.get(id))).toBe('NOT_FOUND');
    expect((await r.get(noop)).state).toBe('failed');
    expect(r.stats().types.echo?.failed).toBeUndefined();
    expect(await code(r.purge({ state: 'failed', type: 'echo', confirm: preview.confirm }))).toBe('CONFIRMATION_INVALID');
  });

  it('--before counts and deletes only tasks submitted before the instant', async () => {
    const r = await rt();
    const old = await failedTask(r);
    // Ids carry the ms they were made in: the next task is made after the cut.
    const cutMs = Date.now() + 1;
    const cut = new Date(cutMs).toISOString();
    await until(() => Date.now() > cutMs);
    const young = await failedTask(r);
    expect(await r.purge({ state: 'failed', before: '2000-01-01T00:00:00Z' })).toMatchObject({ count: 0 });
    const preview = await r.purge({ state: 'failed', before: cut }) as PurgePreview;
    expect(preview.count).toBe(1);
    expect(await r.purge({ state: 'failed', before: cut, confirm: preview.confirm })).toMatchObject({ deleted: 1 });
    expect(await code(r.get(old))).toBe('NOT_FOUND');
    expect((await r.get(young)).state).toBe('failed');
  });

  it('refuses a live state, an unknown type and a bad instant', async () => {
    const r = await rt();
    expect(await code(r.purge({ state: 'queued' as 'failed' }))).toBe('INVALID_ARGUMENT');
    expect(await code(r.purge({ state: 'failed', type: 'nope' }))).toBe('UNKNOWN_TYPE');
    expect(await code(r.purge({ state: 'failed', before: 'yesterday' }))).toBe('INVALID_ARGUMENT');
  });
});

describe('pause-type and resume-type', () => {
  it('leaves a paused type\'s due tasks unclaimed, across a restart, until resumed; types and stats say so', async () => {
    const data = tempDir();
    let r = await rt(data);
    expect((await r.pauseType('echo')).paused).toBe(true);
    expect(await code(r.pauseType('echo'))).toBe('INVALID_STATE');
    expect(await code(r.pauseType('nope'))).toBe('UNKNOWN_TYPE');
    const held = await r.submit({ type: 'echo', params: { held: true } });
    // A later task of another type runs: a claim came after the echo was due and left it.
    await waitForState(r, (await r.submit({ type: 'noop' })).id);
    expect((await r.get(held.id)).state).toBe('queued');

    r = await restart(data);
    expect(r.stats().pausedTypes).toEqual(['echo']);
    expect(r.types().find((t) => t.name === 'echo')?.paused).toBe(true);
    expect(r.types().find((t) => t.name === 'noop')?.paused).toBe(false);
    await waitForState(r, (await r.submit({ type: 'noop' })).id);
    expect((await r.get(held.id)).state).toBe('queued');

    expect((await r.resumeType('echo')).paused).toBe(false);
    expect(await waitForState(r, held.id)).toMatchObject({ state: 'finished', lastRun: { output: { held: true } } });
    expect(r.stats().pausedTypes).toEqual([]);
    expect(await code(r.resumeType('echo'))).toBe('INVALID_STATE');
  });

  it('lets a run in flight finish', async () => {
    const r = await rt();
    const t = await r.submit({ type: 'sleep', params: { ms: 300 } });
    await waitForState(r, t.id, ['running']);
    await r.pauseType('sleep');
    expect(await waitForState(r, t.id)).toMatchObject({ state: 'finished' });
  });
});

describe('list paused', () => {
  it('lists tasks whose pause flag is set, by type too, across a restart; state paused is refused with a hint', async () => {
    const data = tempDir();
    let r = await rt(data);
    const a = await r.submit({ type: 'echo', schedule: { at: FAR } });
    const b = await r.submit({ type: 'noop', schedule: { every: '1h', start: FAR } });
    await r.submit({ type: 'echo', schedule: { at: FAR } });
    await r.pause(a.id);
    await r.pause(b.id);
    expect((await r.list({ paused: true })).tasks.map((t) => t.id)).toEqual([b.id, a.id]);
    expect((await r.list({ paused: true, type: 'echo' })).tasks.map((t) => t.id)).toEqual([a.id]);
    await expect(r.list({ state: 'paused' as 'queued' })).rejects.toThrow(/paused is a flag, not a state.*--paused/);
    expect(await code(r.list({ paused: true, state: 'queued' }))).toBe('INVALID_ARGUMENT');

    r = await restart(data);
    await r.resume(b.id);
    expect((await r.list({ paused: true })).tasks.map((t) => t.id)).toEqual([a.id]);
    await r.cancel(a.id); // an ended task is not paused any more, whatever its flag
    expect((await r.list({ paused: true })).tasks).toEqual([]);
  });

  it('an old store without the paused index still opens; `spindle repair` indexes its paused tasks', async () => {
    const data = tempDir();
    let r = await rt(data);
    const a = await r.submit({ type: 'echo', schedule: { at: FAR } });
    await r.pause(a.id);
    await r.pauseType('noop');
    await runtime!.stop(2000);
    runtime = undefined;
    // As a store written before the index: no p! keys.
    const path = join(data, 'store');
    const db = new Level<string, string>(path);
    await db.open();
    await db.clear({ gte: 'p!', lt: 'p!\xff' });
    await db.close();

    r = await rt(data);
    expect((await r.get(a.id)).paused).toBe(true);
    expect((await r.list({ paused: true })).tasks).toEqual([]);
    await runtime!.stop(2000);
    runtime = undefined;

    await LevelStore.repair(path);
    r = await rt(data);
    expect((await r.list({ paused: true })).tasks.map((t) => t.id)).toEqual([a.id]);
    // The type's pause is a setting, not an index: repair keeps it.
    expect(r.stats().pausedTypes).toEqual(['noop']);
  });
});

describe('reschedule', () => {
  it('moves a waiting recurring task to its new schedule\'s first fire time', async () => {
    const r = await rt();
    const t = await r.submit({ type: 'echo', schedule: { every: '1h', start: FAR } });
    const moved = await r.reschedule(t.id, { cron: '0 9 * * *', tz: 'Europe/Paris', start: '2036-03-01T00:00:00Z' });
    expect(moved).toMatchObject({ nextRunAt: '2036-03-01T08:00:00.000Z', schedule: { cron: '0 9 * * *', tz: 'Europe/Paris' } });
    expect((await r.get(t.id)).nextRunAt).toBe('2036-03-01T08:00:00.000Z');
  });

  it('lets a run in flight finish; the next occurrence follows the new schedule', async () => {
    const r = await rt();
    const t = await r.submit({ type: 'sleep', params: { ms: 400 }, schedule: { every: '1s' } });
    await waitForState(r, t.id, ['running']);
    await r.reschedule(t.id, { every: '1d', start: '2036-01-01T00:00:00Z' });
    const ended = await new Promise<string | null>((resolve) => {
      const stop = r.subscribe({ taskId: t.id, types: ['run.ended'] }, () => {
        stop();
        void r.get(t.id).then((v) => resolve(v.nextRunAt));
      });
    });
    expect(ended).toBe('2036-01-01T00:00:00.000Z');
    expect((await r.runs(t.id)).map((x) => x.state)).toEqual(['finished']);
  });

  it('refuses a one-shot task, a one-shot schedule, an ended task and a bad schedule', async () => {
    const r = await rt();
    const once = await r.submit({ type: 'echo', schedule: { at: FAR } });
    const every = await r.submit({ type: 'echo', schedule: { every: '1h', start: FAR } });
    expect(await code(r.reschedule(once.id, { every: '1h' }))).toBe('INVALID_STATE');
    expect(await code(r.reschedule(every.id, { at: FAR }))).toBe('INVALID_ARGUMENT');
    expect(await code(r.reschedule(every.id, { cron: '61 * * * *' }))).toBe('INVALID_SCHEDULE');
    await r.cancel(every.id);
    expect(await code(r.reschedule(every.id, { every: '2h' }))).toBe('INVALID_STATE');
    expect(await code(r.reschedule('0000000000000abcdef', { every: '2h' }))).toBe('NOT_FOUND');
  });
});
