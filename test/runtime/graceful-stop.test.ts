import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Mode, Runtime } from '../../src/index.js';
import { removeTempDirs, startRuntime, tempDir, waitForState } from '../helpers/runtime.js';

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
    await waitForState(first, task.id, ['running']);
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
