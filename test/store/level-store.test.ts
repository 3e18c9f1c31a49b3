import { afterEach, describe, expect, it } from 'vitest';
import { Level } from 'level';
import { join } from 'node:path';
import { LevelStore } from '../../src/store/level-store.js';
import type { TaskRecord } from '../../src/task/record.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const stores: LevelStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  removeTempDirs();
});

async function open(path = join(tempDir(), 'store')): Promise<{ store: LevelStore; path: string }> {
  const store = new LevelStore({ path, sync: false });
  await store.open();
  stores.push(store);
  return { store, path };
}

function rec(id: string, over: Partial<TaskRecord> = {}): TaskRecord {
  return {
    v: 1, id, type: 'noop', params: null, state: 'queued', reason: null, schedule: { at: '2030-01-01T00:00:00.000Z' },
    recurring: false, priority: 0, maxTries: 3, timeoutMs: 1000, misfire: 'coalesce', graceMs: 1000, tries: 0,
    runCount: 0, occurrences: 0, firedAt: null, nextRunAt: 1000, paused: false, key: null, createdAt: 1, updatedAt: 1,
    endedAt: null, expiresAt: null, lastRun: null, history: [], historyChunks: 0, interval: null,
    keyExpiresAt: null, keyRetentionMs: null, ...over,
  };
}

async function allEntries(path: string): Promise<Array<[string, string]>> {
  const db = new Level<string, string>(path);
  await db.open();
  const entries = await db.iterator().all();
  await db.close();
  return entries;
}

async function allKeys(path: string): Promise<string[]> {
  const db = new Level<string, string>(path);
  await db.open();
  const keys = await db.keys().all();
  await db.close();
  return keys;
}

describe('LevelStore', () => {
  it('writes a task with its indexes and moves them as the task changes', async () => {
    const { store } = await open();
    const a = rec('a', { key: 'k' });
    await store.commit({ tasks: [{ before: null, after: a }], runs: [], history: [], counters: new Map([['noop', { queued: 1 }]]) });
    expect(await store.listIds({ state: 'queued', limit: 10 })).toEqual(['a']);
    expect(await store.dueAfter(null, 10)).toEqual([{ due: 1000, id: 'a' }]);
    expect(await store.findKey('k')).toBe('a');

    const done = rec('a', { key: 'k', state: 'finished', nextRunAt: null, endedAt: 5, expiresAt: 50 });
    await store.commit({ tasks: [{ before: a, after: done }], runs: [], history: [], counters: new Map([['noop', { queued: -1, finished: 1 }]]) });
    expect(await store.listIds({ state: 'queued', limit: 10 })).toEqual([]);
    expect(await store.listIds({ state: 'finished', type: 'noop', limit: 10 })).toEqual(['a']);
    expect(await store.dueAfter(null, 10)).toEqual([]);
    expect(await store.findKey('k')).toBeUndefined();
    expect(await store.expired(49, 10)).toEqual([]);
    expect(await store.expired(50, 10)).toEqual(['a']);
    expect(await store.counters()).toEqual(new Map([['noop', { finished: 1 }]]));
  });

  it('keeps an ended task\'s key in k! while it holds it, indexes the hold in kx!, and drops both when it is released', async () => {
    const { store, path } = await open();
    const a = rec('a', { key: 'k' });
    const held = rec('a', { key: 'k', state: 'finished', nextRunAt: null, endedAt: 5, expiresAt: 50, keyExpiresAt: 20 });
    const released = { ...held, keyExpiresAt: null };
    await store.commit({ tasks: [{ before: null, after: a }], runs: [], history: [], counters: new Map() });
    await store.commit({ tasks: [{ before: a, after: held }], runs: [], history: [], counters: new Map() });
    expect(await store.findKey('k')).toBe('a');
    expect(await store.keysExpired(19, 10)).toEqual([]);
    expect(await store.keysExpired(20, 10)).toEqual(['a']);
    // The giver first, the taker after it in one batch: the key ends up with the taker.
    const b = rec('b', { key: 'k' });
    await store.commit({ tasks: [{ before: held, after: released }, { before: null, after: b }], runs: [], history: [], counters: new Map() });
    expect(await store.findKey('k')).toBe('b');
    expect(await store.keysExpired(1000, 10)).toEqual([]);
    await store.commit({ tasks: [{ before: released, after: null }, { before: b, after: null }], runs: [], history: [], counters: new Map() });
    await store.close();
    expect(await allKeys(path)).toEqual(['meta', 'w']);
  });

  it('writes no empty value (classic-level never frees its copy of one), and every record reads back', async () => {
    const { store, path } = await open();
    const a = rec('a', { key: 'k' });
    const run = { v: 1, taskId: 'a', run: 1, attempt: 1, state: 'finished' as const, startedAt: 2, endedAt: 3, durationMs: 1, worker: 'thread-1', output: '"é"', error: null, progress: null };
    const done = rec('a', { key: 'k', state: 'finished', nextRunAt: null, endedAt: 5, expiresAt: 50, runCount: 2, lastRun: { ...run, run: 2 }, historyChunks: 1 });
    const history = [{ from: 'none' as const, to: 'queued' as const, event: 'submit', at: 1, reason: null }];
    await store.commit({ tasks: [{ before: null, after: a }], runs: [], history: [], counters: new Map([['noop', { queued: 1 }]]) });
    await store.commit({ tasks: [{ before: a, after: done }], runs: [run], history: [{ taskId: 'a', chunk: 0, entries: history }], counters: new Map([['noop', { finished: 1 }]]) });
    await store.close();
    const entries = await allEntries(path);
    expect(new Set(entries.map(([k]) => k.slice(0, 2)))).toEqual(new Set(['c!', 'h!', 'me', 'r!', 't!', 'w', 'x!', 'y!']));
    expect(entries.filter(([, v]) => v === '')).toEqual([]);
    const reopened = new LevelStore({ path, sync: false });
    await reopened.open();
    expect(await reopened.getTask('a')).toEqual(done);
    expect(await reopened.runs('a')).toEqual([run]);
    expect(await reopened.historyChunks('a', 1)).toEqual(history);
    await reopened.close();
  });

  it('lists a state across every type, newest first and in pages, and in id order for recovery', async () => {
    const { store } = await open();
    const types = ['alpha', 'beta', 'gamma'];
    const recs = Array.from({ length: 30 }, (_, i) => rec(`t${String(i).padStart(2, '0')}`, { type: types[i % 3]!, state: i % 4 === 0 ? 'finished' : 'queued' }));
    const counters = new Map(types.map((t) => [t, { queued: 1 }]));
    await store.commit({ tasks: recs.map((r) => ({ before: null, after: r })), runs: [], history: [], counters });
    const queued = recs.filter((r) => r.state === 'queued').map((r) => r.id);
    const pages: string[] = [];
    for (let cursor: string | undefined; ;) {
      const page = await store.listIds({ state: 'queued', limit: 7, ...(cursor !== undefined ? { cursor } : {}) });
      pages.push(...page);
      if (page.length < 7) break;
      cursor = page.at(-1);
    }
    expect(pages).toEqual([...queued].reverse());
    const ascending: string[] = [];
    for (let cursor: string | undefined; ;) {
      const page = await store.idsInState('queued', 5, cursor);
      ascending.push(...page);
      if (page.length < 5) break;
      cursor = page.at(-1);
    }
    expect(ascending).toEqual(queued);
    expect(await store.idsInState('finished', 100, undefined, 'beta')).toEqual(recs.filter((r) => r.state === 'finished' && r.type === 'beta').map((r) => r.id));
    // One type across its states, newest first, paged.
    const gamma = recs.filter((r) => r.type === 'gamma').map((r) => r.id).reverse();
    const first = await store.listIds({ type: 'gamma', limit: 6 });
    expect(first).toEqual(gamma.slice(0, 6));
    expect(await store.listIds({ type: 'gamma', limit: 6, cursor: first.at(-1)! })).toEqual(gamma.slice(6));
  });

  it('deletes a task with every key it owns', async () => {
    const { store, path } = await open();
    const a = rec('a', { state: 'finished', nextRunAt: null, runCount: 2, historyChunks: 1, expiresAt: 9, key: 'k' });
    const run = { v: 1, taskId: 'a', attempt: 1, state: 'finished' as const, startedAt: 1, endedAt: 2, durationMs: 1, worker: 'w', output: null, error: null, progress: null };
    await store.commit({
      tasks: [{ before: null, after: a }],
      runs: [{ ...run, run: 1 }, { ...run, run: 2 }],
      history: [{ taskId: 'a', chunk: 0, entries: [] }],
      counters: new Map(),
    });
    expect(await store.runs('a')).toHaveLength(2);
    await store.commit({ tasks: [{ before: a, after: null }], runs: [], history: [], counters: new Map() });
    await store.close();
    expect(await allKeys(path)).toEqual(['meta', 'w']);
  });

  it('lists newest first and pages with a cursor', async () => {
    const { store } = await open();
    const recs = ['a1', 'a2', 'a3', 'a4'].map((id) => rec(id));
    await store.commit({ tasks: recs.map((r) => ({ before: null, after: r })), runs: [], history: [], counters: new Map() });
    expect(await store.listIds({ limit: 2 })).toEqual(['a4', 'a3']);
    expect(await store.listIds({ limit: 2, cursor: 'a3' })).toEqual(['a2', 'a1']);
    expect(await store.listIds({ type: 'noop', limit: 10 })).toEqual(['a4', 'a3', 'a2', 'a1']);
  });

  it('keeps paused tasks out of the due index', async () => {
    const { store } = await open();
    const a = rec('a');
    const paused = rec('a', { paused: true });
    await store.commit({ tasks: [{ before: null, after: a }], runs: [], history: [], counters: new Map() });
    await store.commit({ tasks: [{ before: a, after: paused }], runs: [], history: [], counters: new Map() });
    expect(await store.dueAfter(null, 10)).toEqual([]);
  });

  it('refuses to open a store another owner holds, with ALREADY_RUNNING', async () => {
    const { path } = await open();
    const second = new LevelStore({ path, sync: false });
    await expect(second.open()).rejects.toMatchObject({ code: 'ALREADY_RUNNING', details: { path } });
  });

  it('opens a store of layout 3 as it is: its layout-1 records read, new writes in layout 2, its meta taken to 4 so an older version refuses it', async () => {
    const { store, path } = await open();
    await store.commit({ tasks: [{ before: null, after: rec('a') }], runs: [], history: [], counters: new Map([['noop', { queued: 1 }]]) });
    await store.close();
    // As layout 3 left it: a task in record layout 1 (the bytes the codec wrote then), meta at 3.
    const old = '[1,"old","noop",null,{"at":"2030-01-01T00:00:00.000Z"},false,0,3,1000,"coalesce",1000,null,1,"queued",null,0,0,0,null,null,1000,false,1,null,null,null,[["none","spooled","submit",1,null]],0,null,null]';
    const db = new Level<string, string>(path);
    await db.open();
    const meta = JSON.parse((await db.get('meta'))!) as Record<string, unknown>;
    expect(meta['layout']).toBe(4);
    await db.put('meta', JSON.stringify({ ...meta, layout: 3 }));
    await db.put('t!old', old);
    await db.close();

    const again = (await open(path)).store;
    expect(await again.getTask('old')).toEqual(rec('old', { history: [{ from: 'none', to: 'spooled', event: 'submit', at: 1, reason: null }] }));
    expect(await again.getTask('a')).toEqual(rec('a'));
    await again.close();
    const entries = new Map(await allEntries(path));
    expect(JSON.parse(entries.get('meta')!)).toEqual({ ...meta, layout: 4 });
    expect(entries.get('t!a')!.startsWith('[2,')).toBe(true);
  });

  it.each([[2], [5], ['not json']])('refuses a store of a layout it does not read (%s) with STORE_INVALID', async (layout) => {
    const { store, path } = await open();
    await store.close();
    const db = new Level<string, string>(path);
    await db.open();
    await db.put('meta', layout === 'not json' ? '{' : JSON.stringify({ layout }));
    await db.close();
    const refused = new LevelStore({ path, sync: false });
    await expect(refused.open()).rejects.toMatchObject({ code: 'STORE_INVALID', message: expect.stringMatching(/this version reads 3 and 4$/) });
  });
});
