import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/index.js';
import { removeTempDirs, startRuntime, tempDir, until, waitForState } from '../helpers/runtime.js';

type Line = Record<string, unknown>;

/** A pino logger at `level` whose lines land, parsed, in `lines`; `raw` keeps the text. */
function capture(level: string): { logger: pino.Logger; lines: Line[]; raw: string[] } {
  const lines: Line[] = [];
  const raw: string[] = [];
  const logger = pino({ level }, { write: (s: string) => { raw.push(s); lines.push(JSON.parse(s) as Line); } });
  return { logger, lines, raw };
}

/** Each top-level key of a flat pino line appears once in its text (JSON.parse keeps only the last). */
function duplicateKeys(raw: string): string[] {
  const parsed = JSON.parse(raw) as Line;
  return Object.keys(parsed).filter((k) => raw.split(`"${k}":`).length - 1 !== 1);
}

const runLines = (lines: Line[], taskId: string): Line[] => lines.filter((l) => l.taskId === taskId && l.outcome !== undefined);

let runtime: Runtime | undefined;

afterEach(async () => {
  await runtime?.stop(2000);
  runtime = undefined;
  removeTempDirs();
});

describe('a run that does not succeed leaves one log line', () => {
  it('warns when a failed try will be retried, saying when, and logs an error when the last try fails', async () => {
    const { logger, lines, raw } = capture('debug');
    runtime = await startRuntime({ logger });
    const task = await runtime.submit({ type: 'throws', maxTries: 2 });
    await waitForState(runtime, task.id);
    const mine = await until(() => { const l = runLines(lines, task.id); return l.length >= 2 && l; });
    expect(mine).toHaveLength(2);
    const [retry, last] = mine;
    expect(retry).toMatchObject({
      level: 40, type: 'throws', taskId: task.id, attempt: 1, run: 1, maxTries: 2, outcome: 'failed',
      code: 'HANDLER_ERROR', message: 'this handler always fails', handlerCode: 'E_FIXTURE', state: 'queued', reason: null,
    });
    // The next try is due after the line (the retry delay is 1 s ± 20 %).
    expect(Date.parse(retry!.retryAt as string) - (retry!.time as number)).toBeGreaterThan(500);
    expect(last).toMatchObject({
      level: 50, type: 'throws', taskId: task.id, attempt: 2, run: 2, outcome: 'failed',
      code: 'HANDLER_ERROR', message: 'this handler always fails', state: 'failed', reason: 'error',
    });
    expect(last!.retryAt).toBeUndefined();
    // At debug the stack comes along.
    expect(last!.stack).toMatch(/this handler always fails/);
    for (const line of raw.filter((r) => r.includes(task.id))) expect(duplicateKeys(line)).toEqual([]);
  });

  it('leaves the stack out above debug', async () => {
    const { logger, lines } = capture('info');
    runtime = await startRuntime({ logger });
    const task = await runtime.submit({ type: 'throws', maxTries: 1 });
    await waitForState(runtime, task.id);
    const [line] = await until(() => { const l = runLines(lines, task.id); return l.length >= 1 && l; });
    expect(line).toMatchObject({ level: 50, code: 'HANDLER_ERROR', state: 'failed' });
    expect(line!.stack).toBeUndefined();
  });

  it.each(['threads', 'processes'] as const)('logs a handler\'s process.exit(3) as a lost run with its exit code (%s)', async (mode) => {
    const { logger, lines } = capture('info');
    runtime = await startRuntime({ logger, mode });
    const task = await runtime.submit({ type: 'exit', params: { code: 3 }, maxTries: 1 });
    await waitForState(runtime, task.id);
    const [line] = await until(() => { const l = runLines(lines, task.id); return l.length >= 1 && l; });
    expect(line).toMatchObject({
      level: 50, type: 'exit', taskId: task.id, attempt: 1, run: 1, outcome: 'lost',
      code: 'WORKER_EXITED', exitCode: 3, state: 'failed', reason: 'lost',
    });
    expect(line!.message).toBeTypeOf('string');
  });

  it('logs a timed-out last try as an error with the task terminated', async () => {
    const { logger, lines } = capture('info');
    runtime = await startRuntime({ logger });
    const task = await runtime.submit({ type: 'sleep', params: { ms: 60_000 }, timeout: 100, maxTries: 1 });
    await waitForState(runtime, task.id);
    const [line] = await until(() => { const l = runLines(lines, task.id); return l.length >= 1 && l; });
    expect(line).toMatchObject({ level: 50, taskId: task.id, outcome: 'timeout', code: 'TIMEOUT', state: 'terminated', reason: 'timeout' });
  });

  it('logs a run found lost at start (the runtime was killed under it) with the retry it gets', async () => {
    const data = tempDir();
    const first = await startRuntime({ data });
    const task = await first.submit({ type: 'ignore-abort', params: { ms: 60_000 }, maxTries: 2 });
    await waitForState(first, task.id, ['running']);
    // A stop whose grace runs out kills the handler: the run stays `running` in the store.
    await first.stop(50);
    const { logger, lines } = capture('info');
    runtime = await startRuntime({ data, logger });
    const [line] = await until(() => { const l = runLines(lines, task.id); return l.length >= 1 && l; });
    expect(line).toMatchObject({ level: 40, taskId: task.id, attempt: 1, run: 1, outcome: 'lost', code: 'WORKER_EXITED', state: 'queued' });
    expect(line!.retryAt).toBeTypeOf('string');
  });

  it('warns when a graceful stop interrupts a run whose handler returned on its signal, giving the try back', async () => {
    const { logger, lines } = capture('info');
    const first = await startRuntime({ logger });
    const marker = join(tempDir(), 'marker');
    const task = await first.submit({ type: 'await-abort', params: { marker }, maxTries: 1 });
    await until(() => existsSync(marker));
    await first.stop(5000);
    const [line] = runLines(lines, task.id);
    expect(line).toMatchObject({
      level: 40, type: 'await-abort', taskId: task.id, attempt: 1, run: 1, outcome: 'interrupted',
      code: 'CANCELLED', state: 'queued', reason: 'interrupted',
    });
  });
});
