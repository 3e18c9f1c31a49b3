import { Level } from 'level';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { wordsOf } from '../../src/api/error-words.js';
import { BUCKET_BOUNDS_MS, emptyMinute, observe, quantile, seriesView } from '../../src/api/series.js';
import { LevelStore } from '../../src/store/level-store.js';
import type { SeriesDelta } from '../../src/store/store.js';
import type { TaskRecord } from '../../src/task/record.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const stores: LevelStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  removeTempDirs();
});

async function open(path: string): Promise<LevelStore> {
  const store = new LevelStore({ path, sync: false });
  await store.open();
  stores.push(store);
  return store;
}

function rec(id: string, over: Partial<TaskRecord> = {}): TaskRecord {
  return {
    v: 1, id, type: 'noop', params: null, state: 'queued', reason: null, schedule: null,
    recurring: false, priority: 0, maxTries: 3, timeoutMs: 1000, misfire: 'coalesce', graceMs: 1000, tries: 0,
    runCount: 0, occurrences: 0, firedAt: null, nextRunAt: 1000, paused: false, key: null, createdAt: 1, updatedAt: 1,
    endedAt: null, expiresAt: null, lastRun: null, history: [], historyChunks: 0, interval: null,
    keyExpiresAt: null, keyRetentionMs: null, ...over,
  };
}

function delta(type: string, minute: number, fill: (c: SeriesDelta['counts']) => void): Map<string, SeriesDelta> {
  const counts = emptyMinute();
  fill(counts);
  return new Map([[`${type}\n${minute}`, { type, minute, counts }]]);
}

describe('per-minute run counters', () => {
  it('reads p50/p95 off the buckets within one bucket of the truth', () => {
    const h = emptyMinute().run;
    for (let ms = 1; ms <= 1000; ms++) observe(h, ms);
    const p50 = quantile(h, 0.5)!;
    const p95 = quantile(h, 0.95)!;
    expect(p50).toBeGreaterThanOrEqual(250);
    expect(p50).toBeLessThanOrEqual(1000);
    expect(p95).toBeGreaterThanOrEqual(500);
    expect(p95).toBeLessThanOrEqual(1000);
    expect(quantile(emptyMinute().run, 0.5)).toBeNull();
    const beyond = emptyMinute().run;
    observe(beyond, 10 * BUCKET_BOUNDS_MS[BUCKET_BOUNDS_MS.length - 1]!);
    expect(quantile(beyond, 0.5)).toBe(BUCKET_BOUNDS_MS[BUCKET_BOUNDS_MS.length - 1]);
  });

  it('adds each batch to the stored row, keeps rows across a reopen, and sweeps old minutes', async () => {
    const path = join(tempDir(), 'store');
    let store = await open(path);
    const minute = 29_000_000;
    const commit = (series: Map<string, SeriesDelta>) => store.commit({ tasks: [], runs: [], history: [], counters: new Map(), series });
    await commit(delta('noop', minute, (c) => { c.started = 2; observe(c.wait, 20); observe(c.wait, 40); }));
    await commit(delta('noop', minute, (c) => { c.ended['finished'] = 1; c.ended['failed'] = 1; observe(c.run, 300); }));
    await commit(delta('noop', minute - 3000, (c) => { c.started = 5; }));
    await store.close();
    store = await open(path);
    // Added to the row written before the reopen, which the new process reads once.
    await commit(delta('noop', minute, (c) => { c.ended['timeout'] = 1; }));
    const rows = await store.series('noop', minute - 10, minute);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ minute, counts: { started: 2, ended: { finished: 1, failed: 1, timeout: 1 } } });
    expect(rows[0]!.counts.wait.n).toBe(2);
    expect(rows[0]!.counts.run.sum).toBe(300);
    const view = seriesView('noop', '1h', minute, rows);
    expect(view.minutes).toHaveLength(60);
    expect(view.started.at(-1)).toBe(2);
    expect(view.failed.at(-1)).toBe(2);
    expect(view.finished.at(-1)).toBe(1);
    expect(view.started.slice(0, -1).every((n) => n === 0)).toBe(true);

    await store.commit({ tasks: [{ before: null, after: rec('a') }], runs: [], history: [], counters: new Map([['noop', { queued: 1 }]]) });
    expect(await store.series('noop', minute - 4000, minute)).toHaveLength(2);
    await store.sweepSeries(minute - 100);
    expect((await store.series('noop', minute - 4000, minute)).map((r) => r.minute)).toEqual([minute]);
  });
});

describe('paused counts and the error index', () => {
  it('keeps paused counts as deltas, and counts them once for a store made before they were kept', async () => {
    const path = join(tempDir(), 'store');
    let store = await open(path);
    await store.commit({
      tasks: [{ before: null, after: rec('a', { paused: true }) }, { before: null, after: rec('b') }],
      runs: [], history: [], counters: new Map([['noop', { queued: 2 }]]), paused: new Map([['noop', 1]]),
    });
    expect(await store.pausedCounts()).toEqual(new Map([['noop', 1]]));
    await store.close();
    // An older store: no paused rows and no word of them in its meta record.
    const db = new Level<string, string>(path);
    await db.open();
    const meta = JSON.parse((await db.get('meta'))!) as Record<string, unknown>;
    delete meta['pausedCounts'];
    await db.put('meta', JSON.stringify(meta));
    await db.del('cp!noop');
    await db.close();
    store = await open(path);
    expect(await store.pausedCounts()).toEqual(new Map([['noop', 1]]));
  });

  it('indexes a failed task by the words of its error, finds it by any, and drops the words when the task goes', async () => {
    const store = await open(join(tempDir(), 'store'));
    const id = '0mgdk3p2q0000abcdef';
    const queued = rec(id);
    const failed = rec(id, {
      state: 'failed', reason: 'error',
      lastRun: { v: 1, taskId: id, run: 1, attempt: 1, state: 'failed', startedAt: 1, endedAt: 2, durationMs: 1, worker: null, output: null, progress: null,
        error: { code: 'HANDLER_ERROR', name: 'Error', message: 'Connection refused by db-7 (ECONNREFUSED)', handlerCode: 'ECONNREFUSED' } },
    });
    await store.commit({ tasks: [{ before: null, after: queued }], runs: [], history: [], counters: new Map() });
    expect((await store.searchIds({ words: ['refused'], limit: 10 }, 100)).ids).toEqual([]);
    await store.commit({ tasks: [{ before: queued, after: failed }], runs: [], history: [], counters: new Map() });
    for (const text of ['refused', 'ECONNREFUSED', 'handler_error', 'db']) {
      expect((await store.searchIds({ words: wordsOf(text), limit: 10 }, 100)).ids).toEqual([id]);
    }
    expect((await store.searchIds({ words: ['refused'], limit: 10, idPrefix: id.slice(0, 5) }, 100)).ids).toEqual([id]);
    expect((await store.searchIds({ words: ['refused'], limit: 10, idPrefix: 'zz' }, 100)).ids).toEqual([]);
    await store.commit({ tasks: [{ before: failed, after: null }], runs: [], history: [], counters: new Map() });
    expect((await store.searchIds({ words: ['refused'], limit: 10 }, 100)).ids).toEqual([]);
  });

  it('spindle repair rebuilds the error index and the paused counts from the records, and keeps the per-minute rows', async () => {
    const path = join(tempDir(), 'store');
    let store = await open(path);
    const id = '0mgdk3p2q0000zzzzzz';
    const failed = rec(id, {
      state: 'failed', reason: 'error',
      lastRun: { v: 1, taskId: id, run: 1, attempt: 1, state: 'failed', startedAt: 1, endedAt: 2, durationMs: 1, worker: null, output: null, progress: null,
        error: { code: 'HANDLER_ERROR', message: 'disk quota exceeded' } },
    });
    await store.commit({
      tasks: [{ before: null, after: failed }, { before: null, after: rec('0mgdk3p2q0001zzzzzz', { paused: true }) }],
      runs: [], history: [], counters: new Map([['noop', { failed: 1, queued: 1 }]]), paused: new Map([['noop', 1]]),
      series: delta('noop', 29_000_000, (c) => { c.started = 1; }),
    });
    await store.close();
    const db = new Level<string, string>(path);
    await db.open();
    await db.clear({ gte: 'e!', lt: 'e!\xff' });
    await db.clear({ gte: 'cp!', lt: 'cp!\xff' });
    await db.close();
    await LevelStore.repair(path);
    store = await open(path);
    expect((await store.searchIds({ words: ['quota'], limit: 10 }, 100)).ids).toEqual([id]);
    expect(await store.pausedCounts()).toEqual(new Map([['noop', 1]]));
    expect(await store.series('noop', 29_000_000, 29_000_000)).toHaveLength(1);
  });
});
