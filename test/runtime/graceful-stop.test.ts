import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Mode, Runtime } from '../../src/index.js';
import { removeTempDirs, startRuntime, tempDir, until, waitForState } from '../helpers/runtime.js';

let runtime: Runtime | undefined;

afterEach(async () => {
  await runtime?.stop(2000);
  runtime = undefined;
  removeTempDirs();
});

describe.each<Mode>(['threads', 'processes'])('a graceful stop in %s mode', (mode) => {
  it('puts a run whose handler returned on its signal back in the queue without spending a try, so a maxTries 1 task finishes after the restart', async () => {
    const data = tempDir();
    const marker = join(tempDir(), 'ran-once');
    const first = await startRuntime({ data, mode });
    const task = await first.submit({ type: 'await-abort', params: { marker }, maxTries: 1 });
    // The handler has started (and waits for its signal): not merely the task `running`.
    await until(() => existsSync(marker));
    await first.stop(5000);

    runtime = await startRuntime({ data, mode });
    const done = await waitForState(runtime, task.id);
    expect(done).toMatchObject({ state: 'finished', reason: null, tries: 1, runCount: 2 });
    expect(done.lastRun?.output).toEqual({ again: true });
    const runs = await runtime.runs(task.id);
    expect(runs.map((r) => [r.run, r.attempt, r.state, r.error?.code ?? null])).toEqual([[1, 1, 'interrupted', 'CANCELLED'], [2, 1, 'finished', null]]);
    const history = await runtime.history(task.id);
    expect(history.map((h) => `${h.from}>${h.to}:${h.event}:${h.reason ?? '-'}`)).toEqual([
      'none>spooled:submit:-', 'spooled>queued:place:-', 'queued>running:start:-',
      'running>queued:interrupt:interrupted',
      'queued>running:start:-', 'running>finished:succeed:-',
    ]);
  });
});

describe('a graceful stop of a recurring task', () => {
  it('gives back the occurrence with the try: it runs again at the restart and the schedule goes on from its fire time', async () => {
    const data = tempDir();
    const marker = join(tempDir(), 'ran-once');
    const first = await startRuntime({ data });
    // On the grid of `start`, the first fire time is 1–2 s ahead: read after the start-up, which
    // can take seconds on a loaded machine (a fire time already past would move the task an hour on).
    const start = new Date(Math.floor(Date.now() / 1000) * 1000 + 2000 - 3_600_000).toISOString();
    const task = await first.submit({ type: 'await-abort', params: { marker }, schedule: { every: '1h', start }, maxTries: 1 });
    const firstFire = Date.parse(task.nextRunAt!);
    // The handler has started (and waits for its signal): not merely the task `running`.
    await until(() => existsSync(marker));
    await first.stop(5000);

    runtime = await startRuntime({ data });
    const r = runtime;
    const after = await until(async () => {
      const v = await r.get(task.id);
      return v.state === 'queued' && v.runCount === 2 ? v : undefined;
    });
    expect(after).toMatchObject({ occurrences: 1, tries: 0, reason: null });
    expect(Date.parse(after.nextRunAt!)).toBe(firstFire + 3_600_000);
    expect((await r.runs(task.id)).map((x) => [x.attempt, x.state])).toEqual([[1, 'interrupted'], [1, 'finished']]);
  });
});

describe('a stop that has to kill', () => {
  it('still counts a run whose handler ignored its signal past the grace as a lost try at the next start', async () => {
    const data = tempDir();
    const first = await startRuntime({ data });
    const task = await first.submit({ type: 'ignore-abort', params: { ms: 60_000 }, maxTries: 1 });
    await waitForState(first, task.id, ['running']);
    await first.stop(50);

    runtime = await startRuntime({ data });
    const done = await waitForState(runtime, task.id);
    expect(done).toMatchObject({ state: 'failed', reason: 'lost', tries: 1, runCount: 1 });
    expect((await runtime.history(task.id)).map((h) => h.event)).not.toContain('interrupt');
  });
});
