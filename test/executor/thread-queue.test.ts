/**
 * Runs beyond a thread's free slots (claimed ahead) go to it in the same message, queued behind
 * the runs it has room for: each starts there when one before it ends. These tests hold a queued
 * run to what a run waiting in the executor for a free thread is promised.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunOutcome } from '../../src/executor/executor.js';
import { ThreadExecutor } from '../../src/executor/thread-executor.js';
import type { ThreadExecutorOptions } from '../../src/executor/thread-executor.js';
import { RECORD, recordLog as logFile, recordsBegun as began } from '../helpers/record-task.js';
import { until } from '../helpers/runtime.js';
import { removeTempDirs } from '../helpers/temp.js';

// Real threads on a loaded 2-core CI machine: generous limits, never tight timing.
const TEST_TIMEOUT = 30_000;

const task = (name: string): string => fileURLToPath(new URL(`../fixtures/tasks/${name}.mjs`, import.meta.url));

const opened: ThreadExecutor[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((ex) => ex.close(0)));
  removeTempDirs();
});

/** One thread, one run at a time: every run after the first in a turn is queued behind it. */
async function open(options: ThreadExecutorOptions = {}): Promise<ThreadExecutor> {
  const ex = new ThreadExecutor({ workers: 1, runsPerWorker: 1, killGraceMs: 500, logLevel: 'silent', ...options });
  opened.push(ex);
  await ex.start();
  return ex;
}

interface Tracked {
  runId: string;
  outcome: Promise<RunOutcome>;
  released: Promise<void>;
  interrupted: () => boolean;
}

let runs = 0;

function start(ex: ThreadExecutor, modulePath: string, params: unknown, timeoutMs = 20_000): Tracked {
  const runId = `queued-${++runs}`;
  let onOutcome!: (outcome: RunOutcome) => void;
  let onReleased!: () => void;
  let interrupted = false;
  const outcome = new Promise<RunOutcome>((resolve) => (onOutcome = resolve));
  const released = new Promise<void>((resolve) => (onReleased = resolve));
  ex.run(
    { runId, taskId: `task-${runs}`, type: 'fixture', modulePath, params, attempt: 1, timeoutMs },
    { onProgress: () => {}, onOutcome, onReleased, onInterrupted: () => (interrupted = true) },
  );
  return { runId, outcome, released, interrupted: () => interrupted };
}

describe('ThreadExecutor, runs queued on a thread', () => {
  it('runs them one after another on the thread, each timed from its own start, not from when it was sent', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    const log = logFile();
    const first = start(ex, RECORD, { log, n: 1, ms: 1_500 });
    // Timed from when it was sent, it would time out while the first still runs.
    const second = start(ex, RECORD, { log, n: 2, ms: 50 }, 1_000);
    const third = start(ex, RECORD, { log, n: 3 });
    const [a, b, c] = await Promise.all([first.outcome, second.outcome, third.outcome]);
    expect(a).toMatchObject({ ok: true });
    expect(b).toMatchObject({ ok: true });
    expect(c).toMatchObject({ ok: true });
    expect(b.durationMs).toBeLessThan(1_000);
    expect(new Set([a.worker, b.worker, c.worker]).size).toBe(1);
    expect(began(log)).toEqual([1, 2, 3]);
  });

  it('times a queued run out from its own start', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    const log = logFile();
    const first = start(ex, RECORD, { log, n: 1, ms: 300 });
    const second = start(ex, task('sleep'), { ms: 3_600_000 }, 400);
    expect(await first.outcome).toMatchObject({ ok: true });
    const timedOut = await second.outcome;
    expect(timedOut).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    expect(timedOut.durationMs).toBeGreaterThanOrEqual(400);
    await second.released;
  });

  it('never starts a queued run cancelled before its turn, and kills no thread for it: the run before it goes on', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ killGraceMs: 200 });
    const log = logFile();
    const holding = start(ex, RECORD, { log, n: 1, ms: 3_600_000 });
    const queued = start(ex, RECORD, { log, n: 2 });
    ex.abort(queued.runId, 'cancel');
    expect(await queued.outcome).toMatchObject({ ok: false, error: { code: 'CANCELLED' }, worker: 'thread-pending' });
    await until(() => began(log).length > 0);
    // Several kill graces of the cancelled run: nothing may happen to the thread that holds it.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    ex.abort(holding.runId, 'cancel');
    const held = await holding.outcome;
    expect(held).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    await Promise.all([holding.released, queued.released]);
    expect(began(log)).toEqual([1]);
    // The thread was not replaced: it takes the next run.
    expect((await start(ex, task('noop'), {}).outcome).worker).toBe(held.worker);
  });

  it('runs what was queued on a thread that died on a new thread, not counted as lost', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    const log = logFile();
    const dying = start(ex, task('exit'), { code: 3 });
    const queued = start(ex, RECORD, { log, n: 2 });
    const lost = await dying.outcome;
    expect(lost).toMatchObject({ ok: false, error: { code: 'WORKER_EXITED' } });
    const ran = await queued.outcome;
    expect(ran).toMatchObject({ ok: true });
    expect(ran.worker).not.toBe(lost.worker);
    expect(began(log)).toEqual([2]);
  });

  it('takes back runs queued behind a long run, and runs them on the first thread free', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workers: 2 });
    const log = logFile();
    const other = start(ex, task('sleep'), { ms: 3_600_000 });
    // Sent at the end of this turn: the other thread is busy from then on.
    await new Promise((resolve) => setImmediate(resolve));
    const long = start(ex, RECORD, { log, n: 1, ms: 3_600_000 });
    const queued = [start(ex, RECORD, { log, n: 2 }), start(ex, RECORD, { log, n: 3 })];
    await until(() => began(log).length > 0);
    // Taken back from behind the long run, they wait for a free thread, as runs claimed ahead do.
    ex.abort(other.runId, 'cancel');
    const freed = await other.outcome;
    const ran = await Promise.all(queued.map((q) => q.outcome));
    for (const outcome of ran) expect(outcome).toMatchObject({ ok: true, worker: freed.worker });
    expect(began(log)).toEqual([1, 2, 3]);
    ex.abort(long.runId, 'cancel');
    const stopped = await long.outcome;
    expect(stopped).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expect(stopped.worker).not.toBe(freed.worker);
  });

  it('gives back the try of a queued run a shutdown stopped before it started', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    const log = logFile();
    const holding = start(ex, RECORD, { log, n: 1, ms: 3_600_000 });
    const queued = start(ex, RECORD, { log, n: 2 });
    await until(() => began(log).length > 0);
    await ex.close(5_000);
    expect(await queued.outcome).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    await Promise.all([holding.released, queued.released]);
    expect(holding.interrupted()).toBe(true);
    expect(queued.interrupted()).toBe(true);
    expect(began(log)).toEqual([1]);
  });

  it('gives back the try of a queued run when a shutdown has to kill the run before it', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    const log = logFile();
    const stubborn = start(ex, task('ignore-abort'), { ms: 3_600_000 });
    const queued = start(ex, RECORD, { log, n: 2 });
    // Runs asked for in one turn are sent at its end: both are on the thread now.
    await new Promise((resolve) => setImmediate(resolve));
    await ex.close(300);
    await Promise.all([stubborn.released, queued.released]);
    expect(stubborn.interrupted()).toBe(false);
    expect(queued.interrupted()).toBe(true);
    expect(began(log)).toEqual([]);
  });
});
