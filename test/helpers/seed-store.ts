import { closeSync, fstatSync, openSync, readdirSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime } from '../../src/index.js';
import { LevelStore } from '../../src/store/level-store.js';
import { FIXTURE_TASKS, until } from './runtime.js';

export interface Seeded {
  queued: string[];
  finished: string[];
}

/**
 * A data dir whose store holds `finished` finished tasks and `queued` tasks due in an hour, each
 * set in a LevelDB table file (.ldb) of its own: the finished ones in the older. Each set is
 * written by a runtime of its own, and a reopen turns the log into a table, as a restart does.
 */
export async function seedStore(data: string, counts: { queued: number; finished: number }): Promise<Seeded> {
  const finished = await session(data, async (runtime) => {
    const ids = (await runtime.submitMany(Array.from({ length: counts.finished }, () => ({ type: 'noop' })))).map((t) => t.id);
    await until(() => runtime.stats().states.finished === counts.finished);
    return ids;
  });
  const queued = await session(data, async (runtime) => (await runtime.submitMany(Array.from({ length: counts.queued }, () => ({ type: 'noop', schedule: { in: '1h' } })))).map((t) => t.id));
  return { queued, finished };
}

async function session<T>(data: string, work: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await Runtime.start({ data, tasks: FIXTURE_TASKS, workers: 2, logLevel: 'silent', socket: false });
  const out = await work(runtime);
  await runtime.stop();
  const store = new LevelStore({ path: storeDir(data), sync: false });
  await store.open();
  await store.close();
  return out;
}

export const storeDir = (data: string): string => join(data, 'store');

/** The store's table files, oldest first. */
export function tableFiles(data: string): string[] {
  const dir = storeDir(data);
  return readdirSync(dir).filter((n) => n.endsWith('.ldb')).sort().map((n) => join(dir, n));
}

/** Inverts `length` bytes in the middle of a file (where the bulk of a table's records are). */
export function flipMiddle(file: string, length = 64): void {
  const fd = openSync(file, 'r+');
  try {
    const at = Math.floor(fstatSync(fd).size / 2);
    const bytes = Buffer.alloc(length);
    readSync(fd, bytes, 0, length, at);
    writeSync(fd, bytes.map((b) => b ^ 0xff), 0, length, at);
  } finally {
    closeSync(fd);
  }
}
