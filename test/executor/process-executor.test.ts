import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Executor } from '../../src/executor/executor.js';
import { ProcessExecutor } from '../../src/executor/process-executor.js';
import type { ProcessExecutorOptions } from '../../src/executor/process-executor.js';
import { isGone } from '../helpers/processes.js';
import { until } from '../helpers/runtime.js';
import { tempDir } from '../helpers/temp.js';
import { executorContract } from './executor-contract.js';
import { failed, opener, pidIn, start, task, TEST_TIMEOUT } from './executor-harness.js';

const processTask = (name: string): string => fileURLToPath(new URL(`../fixtures/process-tasks/${name}.mjs`, import.meta.url));

const create = (options: ProcessExecutorOptions): ProcessExecutor => new ProcessExecutor(options);
const open = opener(create, { workers: 2, killGraceMs: 500, termGraceMs: 500, logLevel: 'silent' });

const pidOf = (worker: string): number => Number(/^process-(\d+)$/.exec(worker)?.[1]);

/**
 * The pids of the children, each holding a run at the same moment (one run per child), then lets
 * the runs go. Holding them until every pid is known proves they ran on distinct children.
 */
async function childPids(ex: Executor): Promise<number[]> {
  const dir = tempDir();
  const held = Array.from({ length: ex.capacity }, (_, i) => ({ file: join(dir, `${i}.pid`), run: start(ex, processTask('hold'), { file: join(dir, `${i}.pid`) }) }));
  const pids = await Promise.all(held.map((h) => pidIn(h.file)));
  for (const h of held) ex.abort(h.run.runId, 'cancel');
  await Promise.all(held.map((h) => h.run.released));
  return pids;
}

describe('ProcessExecutor', () => {
  executorContract({
    worker: 'process',
    noun: 'child',
    open,
    create,
    badOptions: [
      ['runsPerWorker', { runsPerWorker: 1.5 }],
      ['workerMemoryMb', { workerMemoryMb: 8 }],
      ['termGraceMs', { termGraceMs: Number.NaN }],
    ],
    uncaughtCrash: { exitCode: 1 },
  });

  it('W3: reports heap exhaustion as WORKER_OOM and keeps working', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workerMemoryMb: 32 });
    const hog = start(ex, task('oom'));
    expect((await failed(hog)).code).toBe('WORKER_OOM');
    await hog.released;
    expect(await start(ex, task('echo'), { after: 'oom' }).outcome).toMatchObject({ ok: true, output: '{"after":"oom"}' });
  });

  it('returns the handler output from a child process, with the same ctx as a thread', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    const outcome = await start(ex, processTask('pid')).outcome;
    expect(outcome).toMatchObject({ ok: true, worker: expect.stringMatching(/^process-\d+$/) });
    const where = JSON.parse((outcome as { output: string }).output) as { pid: number; isMainThread: boolean };
    expect(where.pid).not.toBe(process.pid);
    expect(where).toMatchObject({ pid: pidOf(outcome.worker), isMainThread: true });
    expect(await start(ex, task('flaky'), {}, { attempt: 2 }).outcome).toMatchObject({ ok: true, output: '{"attempt":2}' });
    const progress = start(ex, task('progress'));
    await progress.released;
    expect(progress.progress).toEqual([0.5]);
  });

  it('kills the whole process group of a run that ignores its cancel: no grandchild survives', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workers: 1 });
    const file = join(tempDir(), 'grandchild.pid');
    const spawner = start(ex, processTask('spawns-sleep'), { file });
    const grandchild = await pidIn(file);
    expect(isGone(grandchild)).toBe(false);
    ex.abort(spawner.runId, 'cancel');
    const error = await failed(spawner);
    expect(error.code).toBe('CANCELLED');
    await spawner.released;
    expect(isGone(pidOf(error.worker))).toBe(true);
    await until(() => isGone(grandchild));
    expect(await start(ex, task('noop')).outcome).toMatchObject({ ok: true });
  });

  it('W5: escalates to SIGKILL when the child itself ignores SIGTERM, and its grandchild goes with the group', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workers: 1 });
    const file = join(tempDir(), 'grandchild.pid');
    const spawner = start(ex, processTask('spawns-sleep'), { file, ignoreTerm: true });
    const grandchild = await pidIn(file);
    ex.abort(spawner.runId, 'cancel');
    expect((await failed(spawner)).code).toBe('CANCELLED');
    await spawner.released;
    await until(() => isGone(grandchild));
  });

  it('W4: ends a run whose child is SIGKILLed from outside as WORKER_CRASHED with the signal', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    const file = join(tempDir(), 'child.pid');
    const held = start(ex, processTask('hold'), { file });
    process.kill(await pidIn(file), 'SIGKILL');
    expect(await failed(held)).toMatchObject({ code: 'WORKER_CRASHED', signal: 'SIGKILL' });
    await held.released;
    expect(await start(ex, task('noop')).outcome).toMatchObject({ ok: true });
  });

  it('W1: is back at full size after busy loops were killed at their timeout, with new processes', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workers: 2 });
    const before = await childPids(ex);
    expect(new Set(before).size).toBe(2);
    const loops = [start(ex, task('busy-loop'), {}, { timeoutMs: 200 }), start(ex, task('busy-loop'), {}, { timeoutMs: 200 })];
    expect((await Promise.all(loops.map((l) => failed(l)))).map((e) => e.code)).toEqual(['TIMEOUT', 'TIMEOUT']);
    await Promise.all(loops.map((l) => l.released));
    expect(ex.busy()).toBe(0);
    expect(before.every(isGone)).toBe(true);
    const after = await childPids(ex);
    expect(new Set(after).size).toBe(2);
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
  });

  it('closes within its grace period and leaves no child behind', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ killGraceMs: 120_000 });
    const file = join(tempDir(), 'grandchild.pid');
    const stubborn = start(ex, processTask('spawns-sleep'), { file, ignoreTerm: true });
    const grandchild = await pidIn(file);
    const idle = await start(ex, processTask('pid')).outcome;
    await ex.close(300);
    expect((await failed(stubborn)).code).toBe('CANCELLED');
    await stubborn.released;
    expect(ex.busy()).toBe(0);
    expect(isGone(pidOf(idle.worker))).toBe(true);
    expect(isGone(pidOf((await stubborn.outcome).worker))).toBe(true);
    await until(() => isGone(grandchild));
    await ex.close(300); // idempotent
    const late = start(ex, task('noop'));
    expect((await failed(late)).code).toBe('CANCELLED');
  });
});
