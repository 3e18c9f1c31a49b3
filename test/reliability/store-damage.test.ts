import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/index.js';
import type { RepairReport } from '../../src/api/runtime-api.js';
import { background, type Ran, spindle } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/runtime.js';
import { flipMiddle, type Seeded, seedStore, storeDir, tableFiles } from '../helpers/seed-store.js';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';

const TASKS = fileURLToPath(new URL('../fixtures/tasks', import.meta.url));
const SPEC_LIMIT_MS = 5000;

let template: string;
let seeded: Seeded;
let mount: Tmpfs | undefined;

beforeAll(async () => {
  template = join(tempDir('spindle-seed-'), 'data');
  seeded = await seedStore(template, { queued: 3000, finished: 852 });
});

afterEach(() => {
  mount?.unmount();
  mount = undefined;
});

afterAll(() => removeTempDirs());

/** A fresh copy of the seeded data dir. */
function copyOfSeeded(): string {
  const data = join(tempDir(), 'data');
  cpSync(template, data, { recursive: true });
  return data;
}

/** `spindle start` that must fail: its code (from the `spindle: CODE: …` line) and how long it took. */
async function failedStart(data: string): Promise<{ code: string | undefined; ms: number; ran: Ran }> {
  const t0 = performance.now();
  const ran = await spindle(['start', '--data', data, '--tasks', TASKS, '--workers', '1', '--log-level', 'warn']);
  const ms = performance.now() - t0;
  expect(ran.code).not.toBe(0);
  return { code: /^spindle: ([A-Z_]+):/m.exec(ran.stderr)?.[1], ms, ran };
}

async function repair(data: string): Promise<RepairReport> {
  const ran = await spindle(['repair', '--data', data, '--json']);
  expect(ran.code, ran.stderr).toBe(0);
  return JSON.parse(ran.stdout) as RepairReport;
}

/** Opens the repaired store in-process: its counts, and the tasks found by listing each state. */
async function countsAndListed(data: string): Promise<{ counted: Record<string, number>; listed: Record<string, number> }> {
  const runtime = await Runtime.start({ data, tasks: TASKS, workers: 1, logLevel: 'silent', socket: false });
  try {
    const listed: Record<string, number> = {};
    for (const state of ['queued', 'finished'] as const) {
      let cursor: string | undefined;
      let n = 0;
      for (;;) {
        const page = await runtime.list({ state, limit: 1000, ...(cursor !== undefined ? { cursor } : {}) });
        n += page.tasks.length;
        if (page.cursor === null) break;
        cursor = page.cursor;
      }
      listed[state] = n;
    }
    const { queued, finished } = runtime.stats().states;
    return { counted: { queued: queued ?? 0, finished: finished ?? 0 }, listed };
  } finally {
    await runtime.stop();
  }
}

describe('S2: a store that cannot be used refuses to start, naming the path, within 5 s', () => {
  it('a data path that is a file: STORE_INVALID', async () => {
    const data = join(tempDir(), 'data');
    writeFileSync(data, 'not a directory');
    const { code, ms, ran } = await failedStart(data);
    expect(code).toBe('STORE_INVALID');
    expect(ran.stderr).toContain(data);
    expect(ms).toBeLessThan(SPEC_LIMIT_MS);
  });

  it('a data dir on a read-only file system: STORE_READONLY, the store untouched', async () => {
    mount = mountTmpfs(8);
    const data = join(mount.dir, 'data');
    cpSync(template, data, { recursive: true });
    const before = readdirSync(storeDir(data)).sort();
    execRemountReadOnly(mount.dir);
    const { code, ms, ran } = await failedStart(data);
    expect(code).toBe('STORE_READONLY');
    expect(ran.stderr).toContain(data);
    expect(ms).toBeLessThan(SPEC_LIMIT_MS);
    expect(readdirSync(storeDir(data)).sort()).toEqual(before);
  });

  it('garbage in place of the manifest: STORE_CORRUPT, offering spindle repair', async () => {
    const data = copyOfSeeded();
    const dir = storeDir(data);
    for (const name of readdirSync(dir).filter((n) => n.startsWith('MANIFEST-'))) writeFileSync(join(dir, name), 'garbage'.repeat(100));
    const { code, ms, ran } = await failedStart(data);
    expect(code).toBe('STORE_CORRUPT');
    expect(ran.stderr).toContain(dir);
    expect(ran.stderr).toContain('spindle repair');
    expect(ms).toBeLessThan(SPEC_LIMIT_MS);
  });

  it('a store without CURRENT is refused, never started over (its tables kept), and repair recovers every task', async () => {
    const data = copyOfSeeded();
    rmSync(join(storeDir(data), 'CURRENT'));
    const tables = tableFiles(data);
    const { code, ms, ran } = await failedStart(data);
    expect(code).toBe('STORE_CORRUPT');
    expect(ran.stderr).toContain(storeDir(data));
    expect(ran.stderr).toContain('spindle repair');
    expect(ms).toBeLessThan(SPEC_LIMIT_MS);
    expect(existsSync(join(storeDir(data), 'CURRENT'))).toBe(false);
    expect(tables.every((f) => existsSync(f))).toBe(true);

    const report = await repair(data);
    expect(report.after).toMatchObject({ queued: seeded.queued.length, finished: seeded.finished.length });
    expect(await countsAndListed(data)).toEqual({
      counted: { queued: seeded.queued.length, finished: seeded.finished.length },
      listed: { queued: seeded.queued.length, finished: seeded.finished.length },
    });
  });

  it('a truncated table file: STORE_CORRUPT; repair then says what was lost, and counts agree with the data', async () => {
    const data = copyOfSeeded();
    const [, queuedTable] = tableFiles(data);
    truncateSync(queuedTable!, 4096);
    const { code, ms, ran } = await failedStart(data);
    expect(code).toBe('STORE_CORRUPT');
    expect(ran.stderr).toContain(storeDir(data));
    expect(ms).toBeLessThan(SPEC_LIMIT_MS);

    const report = await repair(data);
    expect(report.lostFiles.length).toBeGreaterThan(0);
    const { counted, listed } = await countsAndListed(data);
    expect(counted).toEqual(listed);
    expect(counted).toEqual({ queued: report.after.queued ?? 0, finished: report.after.finished ?? 0 });
  });

  it('a bit-flipped table read while serving: the runtime answers STORE_CORRUPT and stops (exit 1), not a loop', async () => {
    const data = copyOfSeeded();
    const [finishedTable] = tableFiles(data);
    flipMiddle(finishedTable!, 256);
    const runtime = background(['start', '--data', data, '--tasks', TASKS, '--workers', '1']);
    // Start-up reads the indexes and the queued tasks, not the finished tasks' records.
    await runtime.printed('spindle runtime started');
    // Reads every finished task: the damaged block is among them.
    const list = await spindle(['list', '--data', data, '--state', 'finished', '--limit', '1000', '--json']);
    expect(list.code).not.toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject({ error: { code: 'STORE_CORRUPT' } });
    expect(await runtime.exited).toMatchObject({ code: 1 });
    expect(runtime.output()).toMatch(/^spindle: STORE_CORRUPT: /m);

    const report = await repair(data);
    const { counted, listed } = await countsAndListed(data);
    expect(counted).toEqual(listed);
    expect(report.before).toMatchObject({ queued: seeded.queued.length, finished: seeded.finished.length });
    expect(counted.queued + counted.finished).toBeLessThanOrEqual(seeded.queued.length + seeded.finished.length);
  });
});

function execRemountReadOnly(dir: string): void {
  // A read-only mount: permission bits do not stop root, a read-only file system does.
  execFileSync('mount', ['-o', 'remount,ro', dir]);
}
