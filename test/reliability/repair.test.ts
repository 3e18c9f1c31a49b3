import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '../../src/index.js';
import { LevelStore } from '../../src/store/level-store.js';
import { repairStore } from '../../src/store/repair.js';
import { type Background, spindle, startRuntime, killBackground } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/runtime.js';
import { storeDir } from '../helpers/seed-store.js';

const TASKS = fileURLToPath(new URL('../fixtures/tasks', import.meta.url));
const MARKER = 'REPAIRING';

let runtime: Background | undefined;
afterEach(async () => {
  await killBackground(runtime);
  runtime = undefined;
  removeTempDirs();
});

const later = (n: number): Array<{ type: string; schedule: { in: string } }> => Array.from({ length: n }, () => ({ type: 'noop', schedule: { in: '1h' } }));

/** The pid of a process that has exited. */
function deadPid(): number {
  const ran = spawnSync('sh', ['-c', 'echo $$']);
  return Number(ran.stdout.toString());
}

async function stop(bg: Background): Promise<void> {
  bg.child.kill('SIGTERM');
  expect(await bg.exited).toMatchObject({ code: 0 });
}

describe('S2: spindle repair takes the store\'s lock', () => {
  it('refuses a store served by a runtime on another socket (ALREADY_RUNNING), which keeps every task', async () => {
    const data = join(tempDir(), 'data');
    const socket = join(tempDir(), 'x.sock');
    runtime = await startRuntime(data, TASKS, ['--socket', socket]);
    const client = await Client.connect({ socket, reconnectWindowMs: 0 });
    await client.submitMany(later(3000));
    const ran = await spindle(['repair', '--data', data, '--json']);
    expect(ran.code).not.toBe(0);
    expect(JSON.parse(ran.stdout)).toMatchObject({ error: { code: 'ALREADY_RUNNING' } });
    expect(existsSync(join(storeDir(data), MARKER))).toBe(false);
    await client.submitMany(later(1000));
    await client.close();
    await stop(runtime);

    runtime = await startRuntime(data, TASKS, ['--socket', socket]);
    const again = await Client.connect({ socket, reconnectWindowMs: 0 });
    expect((await again.stats()).states.queued).toBe(4000);
    await again.close();
    await stop(runtime);
  });

  it('refuses a store open in this process, and leaves no marker', async () => {
    const path = join(tempDir(), 'store');
    const store = new LevelStore({ path, sync: false });
    await store.open();
    await expect(repairStore(path)).rejects.toMatchObject({ code: 'ALREADY_RUNNING' });
    expect(existsSync(join(path, MARKER))).toBe(false);
    await store.close();
  });

  it('a runtime starting while a repair runs refuses (ALREADY_RUNNING): the repair marks the store before it tests the lock', async () => {
    const data = join(tempDir(), 'data');
    runtime = await startRuntime(data, TASKS);
    await stop(runtime);
    runtime = undefined;
    // What a live repair leaves between its mark and its end: the mark, with its (live) pid.
    writeFileSync(join(storeDir(data), MARKER), `${process.pid}\n`);
    const ran = await spindle(['start', '--data', data, '--tasks', TASKS, '--workers', '1']);
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toMatch(/^spindle: ALREADY_RUNNING: /m);
  });

  it('a repair that died is recognised by its pid: start asks for a new repair (STORE_CORRUPT), which takes over', async () => {
    const data = join(tempDir(), 'data');
    runtime = await startRuntime(data, TASKS);
    const client = await Client.connect({ socket: join(data, 'spindle.sock'), reconnectWindowMs: 0 });
    await client.submitMany(later(10));
    await client.close();
    await stop(runtime);
    runtime = undefined;
    writeFileSync(join(storeDir(data), MARKER), `${deadPid()}\n`);
    const start = await spindle(['start', '--data', data, '--tasks', TASKS, '--workers', '1']);
    expect(start.code).not.toBe(0);
    expect(start.stderr).toMatch(/^spindle: STORE_CORRUPT: .*spindle repair/m);

    const repaired = await spindle(['repair', '--data', data, '--json']);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(JSON.parse(repaired.stdout)).toMatchObject({ before: { queued: 10 }, after: { queued: 10 }, unreadable: 0 });
    expect(existsSync(join(storeDir(data), MARKER))).toBe(false);
    runtime = await startRuntime(data, TASKS);
    await stop(runtime);
  });
});
