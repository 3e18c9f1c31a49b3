import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/index.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir, until, waitForState } from '../helpers/runtime.js';

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.stop(2000);
  runtime = undefined;
  removeTempDirs();
});

const start = (data: string, tasks: string, extra: Parameters<typeof Runtime.start>[0] = {}): Promise<Runtime> =>
  Runtime.start({ data, tasks, workers: 1, logLevel: 'silent', ...extra });

describe('restart', () => {
  it('keeps queued tasks across a graceful stop and runs them after', async () => {
    const data = tempDir();
    runtime = await start(data, FIXTURE_TASKS);
    const t = await runtime.submit({ type: 'noop', schedule: { in: '1h' } });
    await runtime.stop();
    runtime = await start(data, FIXTURE_TASKS);
    expect(await runtime.get(t.id)).toMatchObject({ state: 'queued', nextRunAt: t.nextRunAt });
    await runtime.runNow(t.id);
    expect((await waitForState(runtime, t.id)).state).toBe('finished');
  });

  it('B1: fails the open tasks of a type whose module is gone, at start-up, as invalid', async () => {
    const data = tempDir();
    const tasks = tempDir();
    copyFileSync(join(FIXTURE_TASKS, 'noop.mjs'), join(tasks, 'noop.mjs'));
    runtime = await start(data, tasks);
    const t = await runtime.submit({ type: 'noop', schedule: { in: '1h' } });
    await runtime.stop();
    rmSync(join(tasks, 'noop.mjs'));
    runtime = await start(data, tasks);
    const r = runtime;
    const failed = await until(async () => {
      const v = await r.get(t.id);
      return v.state === 'failed' ? v : undefined;
    });
    expect(failed.reason).toBe('invalid');
    expect(runtime.stats().states.queued).toBe(0);
  });

  it('sweeps terminal tasks with their runs after their retention, and keeps live ones', async () => {
    const data = tempDir();
    runtime = await start(data, FIXTURE_TASKS, { retention: 0 });
    const done = await runtime.submit({ type: 'noop' });
    const live = await runtime.submit({ type: 'noop', schedule: { in: '1h' } });
    await waitForState(runtime, done.id);
    await runtime.stop();
    runtime = await start(data, FIXTURE_TASKS, { retention: 0 });
    const r = runtime;
    await until(() => r.stats().swept >= 1);
    await expect(r.get(done.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(r.runs(done.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await r.get(live.id)).toMatchObject({ state: 'queued' });
    expect(r.stats().states.finished).toBe(0);
  });
});
