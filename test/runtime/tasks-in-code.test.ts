import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/index.js';
import { defineTask, isSpindleError } from '../../src/index.js';
import { bounce, sendEmail } from '../fixtures/code-tasks/mail.js';
import { stray } from '../fixtures/code-tasks/elsewhere.js';
import { FIXTURE_TASKS, removeTempDirs, startRuntime, tempDir, waitForState } from '../helpers/runtime.js';

const MAIL = realpathSync(fileURLToPath(new URL('../fixtures/code-tasks/mail.ts', import.meta.url)));

let runtime: Runtime | undefined;

/** What `run` rejects with (fails the test when it resolves). */
async function errorOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, it resolved');
}

afterEach(async () => {
  await runtime?.stop(0);
  runtime = undefined;
  removeTempDirs();
});

describe('Runtime.start({ tasks }) with definitions given in code', () => {
  it.each(['threads', 'processes'] as const)('runs each definition in a worker, which imports its module and finds it by name (%s)', async (mode) => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>); } });
    runtime = await startRuntime({ tasks: [sendEmail, bounce], mode, logger, logLevel: 'info' });
    expect(runtime.types().map((t) => t.name)).toEqual(['send-email', 'bounce']);
    expect(runtime.registry.types.get('send-email')!.file).toBe(MAIL);

    const sent = await runtime.submit({ type: 'send-email', params: { to: 'a@example.org' } });
    expect(await runtime.wait(sent.id)).toMatchObject({ state: 'finished', lastRun: { output: { sent: 'a@example.org', attempt: 1 } } });
    const bounced = await runtime.submit({ type: 'bounce' });
    expect(await runtime.wait(bounced.id)).toMatchObject({ state: 'failed', lastRun: { error: { code: 'HANDLER_ERROR', message: 'mailbox full' } } });
    // The schema given in code is the one submits are checked against.
    expect(await errorOf(() => runtime!.submit({ type: 'send-email', params: {} }))).toMatchObject({ code: 'INVALID_PARAMS' });
    expect(lines.find((l) => l.msg === 'sending')).toMatchObject({ taskId: sent.id, type: 'send-email', attempt: 1, to: 'a@example.org' });
  });

  it('takes definitions beside a tasks folder and a module file given by URL', async () => {
    runtime = await startRuntime({ tasks: [FIXTURE_TASKS, sendEmail, new URL('../fixtures/ts-tasks/typed.ts', import.meta.url)] });
    const names = runtime.types().map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'sleep', 'send-email', 'typed']));
    const echo = await runtime.submit({ type: 'echo', params: { a: 1 } });
    const typed = await runtime.submit({ type: 'typed', params: { a: 2, b: 3 } });
    const sent = await runtime.submit({ type: 'send-email', params: { to: 'b@example.org' } });
    expect((await runtime.wait(echo.id)).state).toBe('finished');
    expect((await runtime.wait(typed.id)).lastRun?.output).toEqual({ sum: 5, attempt: 1 });
    expect((await runtime.wait(sent.id)).lastRun?.output).toEqual({ sent: 'b@example.org', attempt: 1 });
  });

  it('refuses, naming the item, a definition without module, one its module does not export, an invalid one, a name given twice and a URL that is no file', async () => {
    const data = tempDir();
    const refusal = async (tasks: unknown[]) => errorOf(() => startRuntime({ data, tasks: tasks as never }));
    const { module: _, ...withoutModule } = sendEmail;
    expect(await refusal([withoutModule])).toMatchObject({ code: 'INVALID_OPTION', details: { field: 'tasks[0].module' }, message: expect.stringContaining('module: import.meta.url') });
    expect(await refusal([sendEmail, stray])).toMatchObject({ code: 'INVALID_OPTION', details: { field: 'tasks[1].module', path: MAIL }, message: expect.stringContaining('exports no task definition named "stray"') });
    expect(await refusal([{ ...sendEmail, timeout: 'soon' }])).toMatchObject({ code: 'INVALID_OPTION', details: { field: 'tasks[0].timeout' } });
    expect(await refusal([sendEmail, sendEmail])).toMatchObject({ code: 'INVALID_OPTION', details: { field: 'tasks[1]' }, message: expect.stringContaining('"send-email" is already defined') });
    expect(await refusal([defineTask({ name: 'remote', module: 'https://example.org/task.js', run: () => null })])).toMatchObject({ code: 'INVALID_OPTION', details: { field: 'tasks[0].module' } });
    expect(await refusal([42])).toMatchObject({ code: 'INVALID_OPTION', details: { field: 'tasks[0]' } });
  });
});

describe('runtime.wait', () => {
  it('resolves with a task that ends later, and at once with one that has ended', async () => {
    runtime = await startRuntime();
    const slow = await runtime.submit({ type: 'sleep', params: { ms: 200 } });
    const waited = runtime.wait(slow.id);
    expect((await waited)).toMatchObject({ id: slow.id, state: 'finished', lastRun: { output: { slept: 200 } } });
    expect(await runtime.wait(slow.id)).toMatchObject({ id: slow.id, state: 'finished' });
  });

  it('rejects NOT_FOUND for an unknown id, and SHUTTING_DOWN when the runtime stops before the task ends or has stopped', async () => {
    runtime = await startRuntime();
    expect(await errorOf(() => runtime!.wait('no-such-task'))).toMatchObject({ code: 'NOT_FOUND' });
    const held = await runtime.submit({ type: 'sleep' });
    const waited = errorOf(() => runtime!.wait(held.id));
    // Running: a stop with no grace interrupts it, and it stays queued for the next start.
    await waitForState(runtime, held.id, ['running']);
    await runtime.stop(0);
    const err = await waited;
    expect(isSpindleError(err, 'SHUTTING_DOWN')).toBe(true);
    expect(await errorOf(() => runtime!.wait(held.id))).toMatchObject({ code: 'SHUTTING_DOWN' });
  });
});
