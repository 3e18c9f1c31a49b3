import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime, RuntimeOptions, TaskView } from '../../src/index.js';
import { FIXTURE_TASKS, removeTempDirs, startRuntime, waitForState } from '../helpers/runtime.js';

const PROCESS_TASKS = fileURLToPath(new URL('../fixtures/process-tasks', import.meta.url));

let runtime: Runtime | undefined;

afterEach(async () => {
  await runtime?.stop(2000);
  runtime = undefined;
  removeTempDirs();
});

async function rt(options: RuntimeOptions): Promise<Runtime> {
  runtime = await startRuntime({ tasks: PROCESS_TASKS, ...options });
  return runtime;
}

/** Where a task of a `pid` fixture type ran. */
async function whereRan(r: Runtime, type: string): Promise<{ pid: number; isMainThread: boolean }> {
  const task = await r.submit({ type });
  const done: TaskView = await waitForState(r, task.id);
  expect(done.state).toBe('finished');
  return done.lastRun?.output as { pid: number; isMainThread: boolean };
}

describe('per-type isolation (SPEC §2)', () => {
  it('runs a type with isolation "process" in a child process of a threads-mode runtime', async () => {
    const r = await rt({ mode: 'threads' });
    const isolated = await whereRan(r, 'pid-process');
    expect(isolated.pid).not.toBe(process.pid);
    expect(isolated.isMainThread).toBe(true);
    expect(await whereRan(r, 'pid')).toEqual({ pid: process.pid, isMainThread: false });
  });

  it('runs a type with isolation "thread" on a worker thread of a processes-mode runtime', async () => {
    const r = await rt({ mode: 'processes' });
    expect(await whereRan(r, 'pid-thread')).toEqual({ pid: process.pid, isMainThread: false });
    const child = await whereRan(r, 'pid');
    expect(child.pid).not.toBe(process.pid);
    expect(child.isMainThread).toBe(true);
  });

  it('sizes the other pool by the concurrency of the types that use it, the mode\'s pool first', async () => {
    const threads = await rt({ mode: 'threads', workers: 2 });
    // pid-process allows one run at a time: one child is all it can use.
    expect(threads.stats().pools.map(({ mode, size }) => ({ mode, size }))).toEqual([{ mode: 'threads', size: 2 }, { mode: 'processes', size: 1 }]);
    expect(threads.stats().workers.mode).toBe('threads');
    await threads.stop(2000);
    const processes = await rt({ mode: 'processes', workers: 2 });
    expect(processes.stats().pools.map(({ mode, size }) => ({ mode, size }))).toEqual([{ mode: 'processes', size: 2 }, { mode: 'threads', size: 2 }]);
  });

  it('starts no pool of the other kind when no type asks for one', async () => {
    const r = await rt({ mode: 'processes', tasks: FIXTURE_TASKS });
    expect(r.stats().pools.map((p) => p.mode)).toEqual(['processes']);
  });

  it('refuses an unknown mode with INVALID_OPTION naming the field', async () => {
    await expect(rt({ mode: 'fibers' as never })).rejects.toMatchObject({ code: 'INVALID_OPTION', details: { field: 'mode' } });
  });
});
