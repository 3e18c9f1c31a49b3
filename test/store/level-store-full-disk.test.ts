import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LevelStore } from '../../src/store/level-store.js';
import type { TaskRecord } from '../../src/task/record.js';
import { removeTempDirs } from '../helpers/runtime.js';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';

let mount: Tmpfs | undefined;
const stores: LevelStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  mount?.unmount();
  mount = undefined;
  removeTempDirs();
});

function rec(id: string): TaskRecord {
  return {
    v: 1, id, type: 'noop', params: { pad: 'x'.repeat(200) }, state: 'queued', reason: null, schedule: { at: '2030-01-01T00:00:00.000Z' },
    recurring: false, priority: 0, maxTries: 3, timeoutMs: 1000, misfire: 'coalesce', graceMs: 1000, tries: 0,
    runCount: 0, occurrences: 0, firedAt: null, nextRunAt: 1000, paused: false, key: null, createdAt: 1, updatedAt: 1,
    endedAt: null, expiresAt: null, lastRun: null, history: [], historyChunks: 0, interval: null, keyExpiresAt: null, keyRetentionMs: null,
  };
}

async function open(path: string): Promise<LevelStore> {
  const store = new LevelStore({ path, sync: false });
  await store.open();
  stores.push(store);
  return store;
}

const put = (store: LevelStore, id: string): Promise<void> =>
  store.commit({ tasks: [{ before: null, after: rec(id) }], runs: [], history: [], counters: new Map() });

describe('S1: LevelStore on a real tmpfs that fills up', () => {
  it('keeps reading while full, writes again on a new log once space is freed, and loses no write it acknowledged', async () => {
    mount = mountTmpfs(2);
    const path = join(mount.dir, 'store');
    const store = await open(path);
    const written: string[] = [];
    for (let i = 0; i < 100; i++) {
      await put(store, `a${i}`);
      written.push(`a${i}`);
    }
    mount.fill();
    let failures = 0;
    for (let i = 0; failures < 3 && i < 1000; i++) {
      try {
        await put(store, `b${i}`);
        written.push(`b${i}`);
      } catch (err) {
        expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE' });
        failures++;
      }
    }
    expect(failures).toBe(3);
    expect(await store.getTask('a0')).toMatchObject({ id: 'a0' });
    expect(await store.listIds({ limit: 1000 })).toHaveLength(written.length);

    mount.free();
    // Reads racing the write that reopens the store: each answers from the old or the new one.
    const racing = await Promise.all([put(store, 'c0'), store.getTask('a1'), store.listIds({ limit: 1000 }), put(store, 'c1'), store.getTasks(['a2', 'c0'])]);
    expect(racing[1]).toMatchObject({ id: 'a1' });
    expect(racing[4][0]).toMatchObject({ id: 'a2' });
    written.push('c0', 'c1');
    for (let i = 2; i < 200; i++) {
      await put(store, `c${i}`);
      written.push(`c${i}`);
    }
    await store.close();

    const reopened = await open(path);
    const found = await reopened.getTasks(written);
    expect(written.filter((_, i) => found[i] === undefined)).toEqual([]);
    expect((await reopened.listIds({ limit: 1000 })).sort()).toEqual([...written].sort());
  });
});
