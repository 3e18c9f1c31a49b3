import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RunOutcome } from '../../src/executor/executor.js';
import { ThreadExecutor } from '../../src/executor/thread-executor.js';
import type { ThreadExecutorOptions } from '../../src/executor/thread-executor.js';
import { RECORD, recordLog, recordsBegun as began } from '../helpers/record-task.js';
import { executorContract } from './executor-contract.js';
import { failed, opener, SLACK_MS, start, task, TEST_TIMEOUT } from './executor-harness.js';

const OOM_CHILD = fileURLToPath(new URL('../fixtures/thread-oom-child.ts', import.meta.url));
const faults = (name: string): string => fileURLToPath(new URL(`../fixtures/worker-faults/${name}.mjs`, import.meta.url));

const create = (options: ThreadExecutorOptions): ThreadExecutor => new ThreadExecutor(options);
const open = opener(create, { workers: 2, killGraceMs: 500, logLevel: 'silent' });

describe('ThreadExecutor', () => {
  executorContract({
    worker: 'thread',
    noun: 'thread',
    open,
    create,
    badOptions: [
      ['workers', { workers: 1.5 }],
      ['runsPerWorker', { runsPerWorker: 0 }],
      ['workerMemoryMb', { workerMemoryMb: Number.NaN }],
      ['killGraceMs', { killGraceMs: 2 ** 31 }],
    ],
    uncaughtCrash: {},
  });

  /*
   * In a child process: a thread that exhausts its heap can make V8 abort the whole process
   * instead of stopping the thread (nodejs/node#47224; README, Memory limit). When it does not,
   * the run is WORKER_OOM and the pool runs the next task; when it does, the abort is V8's own
   * heap-limit report.
   */
  it('W3: reports heap exhaustion as WORKER_OOM and keeps working, or the process aborts with V8\'s heap-limit report', { timeout: TEST_TIMEOUT }, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', OOM_CHILD, dirname(task('oom'))], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    if (code === 0) {
      const [hog, next] = out.trim().split('\n').map((line) => JSON.parse(line) as RunOutcome);
      expect(hog).toMatchObject({ ok: false, error: { code: 'WORKER_OOM' } });
      expect(next).toMatchObject({ ok: true, output: '{"after":"oom"}' });
    } else {
      expect({ code, signal, out }, err).toEqual({ code: null, signal: 'SIGABRT', out: '' });
      expect(err).toContain('heap limit');
      console.log('W3 thread executor: V8 aborted the process (nodejs/node#47224)');
    }
  });

  it('W1: kills a busy loop at its timeout and runs the next tasks on a new thread, the pool at full size', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    const began = performance.now();
    const loop = start(ex, task('busy-loop'), {}, { timeoutMs: 300 });
    const error = await failed(loop);
    expect(error.code).toBe('TIMEOUT');
    await loop.released;
    expect(performance.now() - began).toBeLessThan(300 + SLACK_MS);
    expect(ex.busy()).toBe(0);
    // Two runs at once need two threads: a pool left a thread short would put both on one.
    const [a, b] = await Promise.all([start(ex, task('sleep'), { ms: 200 }).outcome, start(ex, task('sleep'), { ms: 200 }).outcome]);
    expect(a).toMatchObject({ ok: true });
    expect(b).toMatchObject({ ok: true });
    expect(new Set([a!.worker, b!.worker, error.worker]).size).toBe(3);
  });

  it("W1: a handler blocked in execSync('sleep 5') is recorded TIMEOUT at its timeout, and its slot stays busy until the thread is really gone", { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workers: 1 });
    const began = performance.now();
    const blocked = start(ex, faults('exec-sleep'), { seconds: 5 }, { timeoutMs: 500 });
    let releasedAt = 0;
    void blocked.released.then(() => { releasedAt = performance.now(); });
    const error = await failed(blocked);
    expect(error.code).toBe('TIMEOUT');
    expect(performance.now() - began).toBeLessThan(500 + SLACK_MS);
    // terminate() cannot interrupt a synchronous spawn: the thread ends when the sleep does.
    expect(ex.busy()).toBe(1);
    await blocked.released;
    expect(releasedAt - began).toBeGreaterThanOrEqual(4_900);
    expect(ex.busy()).toBe(0);
    const next = await start(ex, task('noop')).outcome;
    expect(next).toMatchObject({ ok: true });
    expect(next.worker).not.toBe(error.worker);
  });

  it('never starts the handler of a run cancelled in the pool\'s queue while its thread is replaced', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workers: 1, killGraceMs: 300 });
    const log = recordLog();
    const stubborn = start(ex, task('ignore-abort'), { ms: 3_600_000 });
    ex.abort(stubborn.runId, 'cancel');
    await stubborn.released;
    // Its thread has exited and its replacement is still loading: the run goes to piscina's queue.
    const queued = start(ex, RECORD, { log, n: 2 });
    ex.abort(queued.runId, 'cancel');
    expect(await failed(queued)).toMatchObject({ code: 'CANCELLED', worker: 'thread-pending' });
    await queued.released;
    expect((await start(ex, RECORD, { log, n: 3 }).outcome)).toMatchObject({ ok: true });
    expect(began(log)).toEqual([3]);
  });
});
