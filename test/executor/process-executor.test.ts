import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { isSpindleError } from '../../src/errors.js';
import type { RunError, RunOutcome } from '../../src/executor/executor.js';
import { ProcessExecutor } from '../../src/executor/process-executor.js';
import type { ProcessExecutorOptions } from '../../src/executor/process-executor.js';
import { isGone } from '../helpers/processes.js';
import { until } from '../helpers/runtime.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

// Real processes on a loaded 2-core CI machine: generous limits, never tight timing.
const TEST_TIMEOUT = 30_000;

const task = (name: string): string => fileURLToPath(new URL(`../fixtures/tasks/${name}.mjs`, import.meta.url));
const processTask = (name: string): string => fileURLToPath(new URL(`../fixtures/process-tasks/${name}.mjs`, import.meta.url));
/** Appends `n attempt pid start` to params.log as it begins, then sleeps params.ms on its signal. */
const RECORD = fileURLToPath(new URL('../fixtures/recovery-tasks/record.mjs', import.meta.url));

/** The `n` of each handler that began, in order, from RECORD's log. */
function began(log: string): number[] {
  return readFileSync(log, 'utf8').split('\n').filter((l) => l.endsWith(' start')).map((l) => Number(l.split(' ')[0]));
}

let executor: ProcessExecutor | null = null;

afterEach(async () => {
  await executor?.close(0);
  executor = null;
  removeTempDirs();
});

async function open(options: ProcessExecutorOptions = {}): Promise<ProcessExecutor> {
  executor = new ProcessExecutor({ workers: 2, killGraceMs: 500, termGraceMs: 500, logLevel: 'silent', ...options });
  await executor.start();
  return executor;
}

interface Tracked {
  runId: string;
  outcome: Promise<RunOutcome>;
  released: Promise<void>;
  progress: number[];
}

let runs = 0;

function start(ex: ProcessExecutor, modulePath: string, params: unknown = {}, options: { timeoutMs?: number; attempt?: number; startAt?: number } = {}): Tracked {
  const runId = `run-${++runs}`;
  const progress: number[] = [];
  let onOutcome!: (outcome: RunOutcome) => void;
  let onReleased!: () => void;
  const outcome = new Promise<RunOutcome>((resolve) => (onOutcome = resolve));
  const released = new Promise<void>((resolve) => (onReleased = resolve));
  ex.run(
    { runId, taskId: `task-${runs}`, type: 'fixture', modulePath, params, attempt: options.attempt ?? 1, timeoutMs: options.timeoutMs ?? 20_000, ...(options.startAt === undefined ? {} : { startAt: options.startAt }) },
    { onProgress: (p) => progress.push(p), onOutcome, onReleased },
  );
  return { runId, outcome, released, progress };
}

async function failed(tracked: Tracked): Promise<RunError & { worker: string }> {
  const outcome = await tracked.outcome;
  if (outcome.ok) throw new Error(`expected a failed run, got output ${String(outcome.output)}`);
  return { ...outcome.error, worker: outcome.worker };
}

/** The pid a fixture wrote to `file`, once it has written it. */
const pidIn = (file: string): Promise<number> => until(() => existsSync(file) && Number(readFileSync(file, 'utf8')) > 0 && Number(readFileSync(file, 'utf8')));

const pidOf = (worker: string): number => Number(/^process-(\d+)$/.exec(worker)?.[1]);

/**
 * The pids of the children, each holding a run at the same moment (one run per child), then lets
 * the runs go. Holding them until every pid is known proves they ran on distinct children.
 */
async function childPids(ex: ProcessExecutor): Promise<number[]> {
  const dir = tempDir();
  const held = Array.from({ length: ex.capacity }, (_, i) => ({ file: join(dir, `${i}.pid`), run: start(ex, processTask('hold'), { file: join(dir, `${i}.pid`) }) }));
  const pids = await Promise.all(held.map((h) => pidIn(h.file)));
  for (const h of held) ex.abort(h.run.runId, 'cancel');
  await Promise.all(held.map((h) => h.run.released));
  return pids;
}

/**
 * Holds this thread's event loop for `ms` from inside a check-phase callback, as long synchronous
 * work in the runtime would: the loop's next turn then runs its expired timers before it polls I/O.
 */
function holdLoop(ms: number): Promise<void> {
  return new Promise((resolve) => setImmediate(() => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    resolve();
  }));
}

describe('ProcessExecutor', () => {
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

  it('records a thrown error, output JSON cannot hold and a module that fails to load like a thread does', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    expect(await failed(start(ex, task('throws')))).toMatchObject({ code: 'HANDLER_ERROR', message: 'this handler always fails', handlerCode: 'E_FIXTURE' });
    expect((await failed(start(ex, task('bad-output')))).code).toBe('OUTPUT_NOT_SERIALIZABLE');
    expect((await failed(start(ex, task('no-such-task')))).code).toBe('HANDLER_LOAD_FAILED');
    const typed = fileURLToPath(new URL('../fixtures/ts-tasks/typed.ts', import.meta.url));
    expect(await start(ex, typed, { a: 2, b: 3 }).outcome).toMatchObject({ ok: true, output: '{"sum":5,"attempt":1}' });
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

  it.each([0, 1, 7])('W2: ends a run whose child calls process.exit(%i) as WORKER_EXITED with the code', { timeout: TEST_TIMEOUT }, async (code) => {
    const ex = await open();
    const exited = start(ex, task('exit'), { code });
    expect(await failed(exited)).toMatchObject({ code: 'WORKER_EXITED', exitCode: code });
    await exited.released;
    expect(await start(ex, task('noop')).outcome).toMatchObject({ ok: true });
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

  it('W4: records an uncaught error thrown from a timer as WORKER_CRASHED with its message', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    const crash = start(ex, task('crash-later'));
    const error = await failed(crash);
    expect(error).toMatchObject({ code: 'WORKER_CRASHED', exitCode: 1 });
    expect(error.message).toContain('thrown from a timer');
    await crash.released;
  });

  it('W3: reports heap exhaustion as WORKER_OOM and keeps working', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workerMemoryMb: 32 });
    const hog = start(ex, task('oom'));
    expect((await failed(hog)).code).toBe('WORKER_OOM');
    await hog.released;
    expect(await start(ex, task('echo'), { after: 'oom' }).outcome).toMatchObject({ ok: true, output: '{"after":"oom"}' });
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

  it('cancels a handler that honours its signal without killing its child', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workers: 1, killGraceMs: 120_000 });
    const sleeping = start(ex, task('sleep'), { ms: 3_600_000 });
    ex.abort(sleeping.runId, 'cancel');
    const error = await failed(sleeping);
    expect(error.code).toBe('CANCELLED');
    await sleeping.released;
    expect((await start(ex, task('noop')).outcome).worker).toBe(error.worker);
  });

  it('fails a run cancelled while it waits for a slot without sending it', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workers: 1, killGraceMs: 120_000 });
    const holding = start(ex, task('sleep'), { ms: 3_600_000 });
    const queued = start(ex, task('noop'));
    ex.abort(queued.runId, 'cancel');
    expect(await failed(queued)).toMatchObject({ code: 'CANCELLED', worker: 'process-pending' });
    await queued.released;
    expect(ex.busy()).toBe(1);
    ex.abort(holding.runId, 'cancel');
    await holding.released;
  });

  it('holds a run sent ahead of its due time in its worker until its startAt, and counts its duration from then', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workers: 1 });
    await start(ex, task('noop')).outcome;
    const startAt = performance.now() + 300;
    const held = start(ex, task('noop'), {}, { startAt });
    const outcome = await held.outcome;
    const arrived = performance.now();
    expect(outcome.ok).toBe(true);
    expect(arrived).toBeGreaterThanOrEqual(startAt);
    expect(outcome.durationMs).toBeLessThanOrEqual(Math.ceil(arrived - startAt) + 1);
  });

  it('never starts the handler of a run cancelled while its worker holds it for its due time', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workers: 1, runsPerWorker: 3, killGraceMs: 120_000 });
    const log = join(tempDir(), 'runs.log');
    writeFileSync(log, '');
    const holding = start(ex, RECORD, { log, n: 1, ms: 3_600_000 });
    await until(() => began(log).length > 0);
    const held = start(ex, RECORD, { log, n: 2 }, { startAt: performance.now() + 3_600_000 });
    // Sent after the held run to the same worker, in order: once it has ended, the held run is there.
    await start(ex, RECORD, { log, n: 3 }).outcome;
    ex.abort(held.runId, 'cancel');
    expect(await failed(held)).toMatchObject({ code: 'CANCELLED' });
    ex.abort(holding.runId, 'cancel');
    await Promise.all([holding.released, held.released]);
    expect(began(log)).toEqual([1, 3]);
  });

  it('never starts the handler of a run cancelled while it waits for a slot', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workers: 1, killGraceMs: 120_000 });
    const log = join(tempDir(), 'runs.log');
    writeFileSync(log, '');
    const holding = start(ex, RECORD, { log, n: 1, ms: 3_600_000 });
    const queued = start(ex, RECORD, { log, n: 2 });
    ex.abort(queued.runId, 'cancel');
    expect(await failed(queued)).toMatchObject({ code: 'CANCELLED', worker: 'process-pending' });
    // Cancelled once its handler has begun, so that it ends on its signal, not unstarted.
    await until(() => began(log).length > 0);
    ex.abort(holding.runId, 'cancel');
    await Promise.all([holding.released, queued.released]);
    expect(began(log)).toEqual([1]);
  });

  it('holds runsPerWorker runs in one child at once', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workers: 1, runsPerWorker: 2 });
    expect(ex.capacity).toBe(2);
    const both = [start(ex, task('sleep'), { ms: 300 }), start(ex, task('sleep'), { ms: 300 })];
    const [a, b] = await Promise.all(both.map((t) => t.outcome));
    expect(a).toMatchObject({ ok: true });
    expect(b).toMatchObject({ ok: true, worker: a!.worker });
  });

  it('sends runs started together in one message and hands back each result as soon as it ends', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workers: 1, runsPerWorker: 8 });
    for (let round = 0; round < 5; round++) {
      const runs = [0, 5, 10, 20, 40, 60, 80, 300].map((ms) => start(ex, task('sleep'), { ms }));
      let slowEnded = false;
      void runs.at(-1)!.outcome.then(() => { slowEnded = true; });
      const fast = await runs[0]!.outcome;
      expect(slowEnded).toBe(false);
      const outcomes = await Promise.all(runs.map((r) => r.outcome));
      expect(outcomes.every((o) => o.ok && o.worker === fast.worker)).toBe(true);
      await Promise.all(runs.map((r) => r.released));
      expect(ex.busy()).toBe(0);
    }
  });

  it('sends stdout, stderr and ctx.log lines to its logger tagged with the task and attempt', { timeout: TEST_TIMEOUT }, async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        callback();
      },
    });
    const ex = await open({ workers: 1, logLevel: 'info', logger: pino({ level: 'info' }, sink) });
    const outcome = await start(ex, processTask('output'), { tag: 'xyz' }, { attempt: 3 }).outcome;
    const taskId = `task-${runs}`;
    const tagged = { taskId, attempt: 3, worker: outcome.worker };
    await until(() => lines.length >= 3);
    expect(lines).toEqual(expect.arrayContaining([
      expect.objectContaining({ ...tagged, stream: 'stdout', level: 30, msg: 'plain stdout xyz' }),
      expect.objectContaining({ ...tagged, stream: 'stderr', level: 40, msg: 'plain stderr xyz' }),
      expect.objectContaining({ ...tagged, tag: 'xyz', level: 40, msg: 'through ctx.log' }),
    ]));
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

  it('keeps a result its child sent before the deadline when the runtime\'s loop was held past it (issue 14 #8)', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    const finishing = start(ex, task('sleep'), { ms: 1_000 }, { timeoutMs: 3_000 });
    // The handler ends at 1 s and its result waits to be read; the 3 s timer expires meanwhile.
    await holdLoop(5_000);
    expect(await finishing.outcome).toMatchObject({ ok: true, output: '{"slept":1000}' });
    await finishing.released;
    expect(ex.busy()).toBe(0);
  });

  it.each([
    ['workers', { workers: 0 }],
    ['runsPerWorker', { runsPerWorker: 1.5 }],
    ['workerMemoryMb', { workerMemoryMb: 8 }],
    ['killGraceMs', { killGraceMs: -1 }],
    ['termGraceMs', { termGraceMs: Number.NaN }],
    ['logLevel', { logLevel: 'loud' }],
  ] as const)('refuses a bad %s with INVALID_OPTION naming it', (field, options) => {
    let caught: unknown;
    try {
      new ProcessExecutor(options);
    } catch (err) {
      caught = err;
    }
    expect(isSpindleError(caught, 'INVALID_OPTION')).toBe(true);
    expect((caught as { details: { field?: string } }).details.field).toBe(field);
  });
});
