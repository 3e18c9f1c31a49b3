/**
 * What both executors promise (src/executor/executor.ts), as one set of tests each mode's file
 * runs against its own executor: the same ctx, outcomes and run error codes, aborts, timeouts and
 * the kill grace, runs held until their startAt, runs cancelled before they start, close.
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { expect, it } from 'vitest';
import { isSpindleError } from '../../src/errors.js';
import type { Executor, RunError } from '../../src/executor/executor.js';
import type { PoolOptions } from '../../src/executor/pool-options.js';
import { RECORD, recordLog, recordsBegun as began } from '../helpers/record-task.js';
import { until } from '../helpers/runtime.js';
import { failed, lineSink, SLACK_MS, start, task, TEST_TIMEOUT } from './executor-harness.js';
import { handlerContract } from './handler-contract.js';
import type { Tracked } from './executor-harness.js';

export interface ExecutorMode<O extends PoolOptions> {
  /** How its workers are named: `thread-3`, `process-4242`, and `thread-pending` for a run sent to none. */
  worker: 'thread' | 'process';
  /** What the test names call one worker. */
  noun: 'thread' | 'child';
  /** A started executor: 2 workers, a 500 ms kill grace, silent, under the test's options; closed after it. */
  open(options?: PoolOptions): Promise<Executor>;
  create(options: PoolOptions | O): Executor;
  /** Options it must refuse beyond POOL_BAD_OPTIONS, each with the field INVALID_OPTION names. */
  badOptions: ReadonlyArray<readonly [field: string, options: O]>;
  /** What WORKER_CRASHED adds for an uncaught error: a child process's exit code. */
  uncaughtCrash: Partial<RunError>;
}

/** Options both refuse, validated alike (src/executor/pool-options.ts). */
const POOL_BAD_OPTIONS: ReadonlyArray<readonly [field: string, options: PoolOptions]> = [
  ['workers', { workers: 0 }],
  ['killGraceMs', { killGraceMs: -1 }],
  ['logLevel', { logLevel: 'loud' }],
];

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

/** Registers the contract's tests in the calling describe block, once for `mode`. */
export function executorContract<O extends PoolOptions>(mode: ExecutorMode<O>): void {
  const { open, worker, noun } = mode;
  handlerContract(open);

  it(`sends what handlers print and ctx.log to its logger, each line tagged with its own run when runs share a ${noun}`, { timeout: TEST_TIMEOUT }, async () => {
    const { sink, lines } = lineSink();
    const ex = await open({ workers: 1, runsPerWorker: 2, logLevel: 'info', logger: pino({ level: 'info' }, sink) });
    const interleaved = fileURLToPath(new URL('../fixtures/worker-output/interleaved.mjs', import.meta.url));
    const slow = start(ex, interleaved, { tag: 'slow', ms: 300 }, { attempt: 2 });
    const fast = start(ex, interleaved, { tag: 'fast', ms: 0 });
    const output = start(ex, fileURLToPath(new URL('../fixtures/process-tasks/output.mjs', import.meta.url)), { tag: 'xyz' }, { attempt: 3 });
    const outcomes = await Promise.all([slow.outcome, fast.outcome, output.outcome]);
    // Lines travel on another channel than results: wait for the last one written.
    await until(() => lines.some((l) => l.msg === 'slow from a timer'));
    expect(new Set(outcomes.map((o) => o.worker)).size).toBe(1);
    const tags = (run: Tracked, attempt: number) => ({ taskId: run.runId.replace('run-', 'task-'), type: 'fixture', attempt, worker: outcomes[0]!.worker });
    const of = (msg: string) => lines.find((l) => l.msg === msg);
    expect(of('slow begins and ends')).toMatchObject({ ...tags(slow, 2), stream: 'stdout', level: 30 });
    expect(of('fast begins and ends')).toMatchObject({ ...tags(fast, 1), stream: 'stdout', level: 30 });
    expect(of('plain stdout xyz')).toMatchObject({ ...tags(output, 3), stream: 'stdout', level: 30 });
    expect(of('plain stderr xyz')).toMatchObject({ ...tags(output, 3), stream: 'stderr', level: 40 });
    expect(of('through ctx.log')).toMatchObject({ ...tags(output, 3), tag: 'xyz', level: 40 });
    expect(of('fast from a timer')).toMatchObject({ ...tags(fast, 1), stream: 'stderr' });
    expect(of('slow from a timer')).toMatchObject({ ...tags(slow, 2), stream: 'stderr' });
  });

  it('returns the handler output as JSON text', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    const params = { a: 1, list: [1, 'two', null, { nested: true }] };
    const outcome = await start(ex, task('echo'), params).outcome;
    expect(outcome).toMatchObject({ ok: true, output: JSON.stringify(params), worker: expect.stringMatching(new RegExp(`^${worker}-\\d+$`)) });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('reports no output when the handler returns undefined', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    const tracked = start(ex, task('noop'));
    expect(await tracked.outcome).toMatchObject({ ok: true, output: undefined });
    await tracked.released;
    expect(ex.busy()).toBe(0);
  });

  it('records a thrown error as HANDLER_ERROR with its name, stack and own code', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    const error = await failed(start(ex, task('throws')));
    expect(error).toMatchObject({ code: 'HANDLER_ERROR', name: 'Error', message: 'this handler always fails', handlerCode: 'E_FIXTURE' });
    expect(error.stack).toContain('throws.mjs');
  });

  it('passes the attempt number to the handler', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    expect((await failed(start(ex, task('flaky'), {}, { attempt: 1 }))).code).toBe('HANDLER_ERROR');
    expect(await start(ex, task('flaky'), {}, { attempt: 2 }).outcome).toMatchObject({ ok: true, output: '{"attempt":2}' });
  });

  it(`cancels a sleep that honours its signal without killing its ${noun}`, { timeout: TEST_TIMEOUT }, async () => {
    // With a kill grace this long, only the handler settling can free the slot within the test.
    const ex = await open({ workers: 1, killGraceMs: 120_000 });
    const sleeping = start(ex, task('sleep'), { ms: 3_600_000 });
    ex.abort(sleeping.runId, 'cancel');
    const error = await failed(sleeping);
    expect(error.code).toBe('CANCELLED');
    await sleeping.released;
    const next = await start(ex, task('noop')).outcome;
    expect(next.worker).toBe(error.worker);
  });

  it(`aborts a run still queued for a ${noun}, reported from no ${noun} without taking a slot, and the ${noun} serves on`, { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workers: 1, killGraceMs: 120_000 });
    const holding = start(ex, task('sleep'), { ms: 3_600_000 });
    const queued = start(ex, task('sleep'), { ms: 3_600_000 });
    ex.abort(queued.runId, 'cancel');
    expect(await failed(queued)).toMatchObject({ code: 'CANCELLED', worker: `${worker}-pending` });
    await queued.released;
    expect(ex.busy()).toBe(1);
    ex.abort(holding.runId, 'cancel');
    const held = await failed(holding);
    await holding.released;
    expect((await start(ex, task('noop')).outcome).worker).toBe(held.worker);
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
    const log = recordLog();
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

  it(`never starts the handler of a run cancelled while it waits for a ${noun}: it is released unsent`, { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workers: 1, killGraceMs: 120_000 });
    const log = recordLog();
    const holding = start(ex, RECORD, { log, n: 1, ms: 3_600_000 });
    const queued = start(ex, RECORD, { log, n: 2 });
    ex.abort(queued.runId, 'cancel');
    expect(await failed(queued)).toMatchObject({ code: 'CANCELLED', worker: `${worker}-pending` });
    // Cancelled once its handler has begun, so that it ends on its signal, not unstarted.
    await until(() => began(log).length > 0);
    ex.abort(holding.runId, 'cancel');
    await Promise.all([holding.released, queued.released]);
    expect(began(log)).toEqual([1]);
  });

  it(`terminates the ${noun} of a handler that ignores its cancel after the kill grace`, { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workers: 1, killGraceMs: 300 });
    const stubborn = start(ex, task('ignore-abort'), { ms: 3_600_000 });
    ex.abort(stubborn.runId, 'cancel');
    const error = await failed(stubborn);
    expect(error.code).toBe('CANCELLED');
    await stubborn.released;
    const next = await start(ex, task('noop')).outcome;
    expect(next).toMatchObject({ ok: true });
    expect(next.worker).not.toBe(error.worker);
  });

  it.each([0, 1, 7])('W2: reports process.exit(%i) mid-run as WORKER_EXITED with the code', { timeout: TEST_TIMEOUT }, async (code) => {
    const ex = await open();
    const exited = start(ex, task('exit'), { code });
    expect(await failed(exited)).toMatchObject({ code: 'WORKER_EXITED', exitCode: code });
    await exited.released;
    expect(await start(ex, task('noop')).outcome).toMatchObject({ ok: true });
  });

  it('W4: reports an uncaught error thrown from a timer after the handler returned as WORKER_CRASHED', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    const crash = start(ex, task('crash-later'));
    const error = await failed(crash);
    expect(error).toMatchObject({ code: 'WORKER_CRASHED', ...mode.uncaughtCrash });
    expect(error.message).toContain('thrown from a timer');
    await crash.released;
    expect(await start(ex, task('noop')).outcome).toMatchObject({ ok: true });
  });

  it('refuses output JSON cannot represent with OUTPUT_NOT_SERIALIZABLE naming the path', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    const error = await failed(start(ex, task('bad-output')));
    expect(error.code).toBe('OUTPUT_NOT_SERIALIZABLE');
    expect(error.message).toContain('output.f is a function');
  });

  it.each([
    ['a module that throws on import', fileURLToPath(new URL('../fixtures/bad-tasks/import-throws.mjs', import.meta.url))],
    ['a module that does not exist', fileURLToPath(new URL('../fixtures/tasks/no-such-task.mjs', import.meta.url))],
    ['a module without a task definition', fileURLToPath(new URL('../../src/executor/wire.ts', import.meta.url))],
  ])('B1: fails %s with HANDLER_LOAD_FAILED', { timeout: TEST_TIMEOUT }, async (_what, modulePath) => {
    const ex = await open();
    const error = await failed(start(ex, modulePath));
    expect(error.code).toBe('HANDLER_LOAD_FAILED');
    expect(error.message).toContain(modulePath);
  });

  it('loads a TypeScript task module', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    const typed = fileURLToPath(new URL('../fixtures/ts-tasks/typed.ts', import.meta.url));
    expect(await start(ex, typed, { a: 2, b: 3 }).outcome).toMatchObject({ ok: true, output: '{"sum":5,"attempt":1}' });
  });

  it('delivers ctx.progress to onProgress before the outcome', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    const tracked = start(ex, task('progress'));
    await tracked.released;
    expect(await tracked.outcome).toMatchObject({ ok: true });
    expect(tracked.progress).toEqual([0.5]);
  });

  it(`holds runsPerWorker runs on one ${noun} at once`, { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workers: 1, runsPerWorker: 2 });
    expect(ex.capacity).toBe(2);
    const both = [start(ex, task('sleep'), { ms: 300 }), start(ex, task('sleep'), { ms: 300 })];
    expect(ex.busy()).toBe(2);
    const [a, b] = await Promise.all(both.map((t) => t.outcome));
    expect(a).toMatchObject({ ok: true });
    expect(b).toMatchObject({ ok: true, worker: a!.worker });
  });

  it('sends runs started together in one message and hands back each result as soon as it ends', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ workers: 1, runsPerWorker: 8 });
    for (let round = 0; round < 5; round++) {
      // Ends spread over several turns of the worker's loop: some results go ahead, the rest with the batch.
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

  it('closes within its grace period when a handler ignores the shutdown', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open({ killGraceMs: 120_000 });
    const stubborn = start(ex, task('ignore-abort'), { ms: 3_600_000 });
    const began = performance.now();
    await ex.close(500);
    expect(performance.now() - began).toBeLessThan(500 + SLACK_MS);
    expect((await failed(stubborn)).code).toBe('CANCELLED');
    await stubborn.released;
    expect(ex.busy()).toBe(0);
    await ex.close(500); // idempotent
  });

  it('fails a run asked for after close without starting it', { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    await ex.close(0);
    const late = start(ex, task('noop'));
    expect((await failed(late)).code).toBe('CANCELLED');
    await late.released;
  });

  it(`keeps a result its ${noun} sent before the deadline when the runtime's loop was held past it (issue 14 #8)`, { timeout: TEST_TIMEOUT }, async () => {
    const ex = await open();
    const finishing = start(ex, task('sleep'), { ms: 1_000 }, { timeoutMs: 3_000 });
    // The handler ends at 1 s and its result waits to be read; the 3 s timer expires meanwhile.
    await holdLoop(5_000);
    expect(await finishing.outcome).toMatchObject({ ok: true, output: '{"slept":1000}' });
    await finishing.released;
    expect(ex.busy()).toBe(0);
  });

  it.each([...POOL_BAD_OPTIONS, ...mode.badOptions])('refuses a bad %s with INVALID_OPTION naming it', (field, options) => {
    let caught: unknown;
    try {
      mode.create(options);
    } catch (err) {
      caught = err;
    }
    expect(isSpindleError(caught, 'INVALID_OPTION')).toBe(true);
    expect((caught as { details: { field?: string } }).details.field).toBe(field);
  });
}
