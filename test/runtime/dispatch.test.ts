import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/index.js';
import { removeTempDirs, startRuntime, waitForState } from '../helpers/runtime.js';

const TASKS = fileURLToPath(new URL('../fixtures/dispatch-tasks', import.meta.url));

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.stop(2000);
  runtime = undefined;
  removeTempDirs();
});

describe('dispatch', () => {
  it('never runs more of a type at once than its concurrency', async () => {
    const r = (runtime = await startRuntime({ tasks: TASKS, workers: 2 }));
    let now = 0;
    let max = 0;
    r.subscribe({ type: 'solo', types: ['run.started', 'run.ended'] }, (ev) => {
      now += ev.event === 'run.started' ? 1 : -1;
      max = Math.max(max, now);
    });
    const tasks = await r.submitMany(Array.from({ length: 5 }, () => ({ type: 'solo' })));
    for (const t of tasks) expect((await waitForState(r, t.id)).state).toBe('finished');
    expect(max).toBe(1);
  });

  it('starts due tasks by priority, then by due time', async () => {
    const r = (runtime = await startRuntime({ tasks: TASKS, workers: 1 }));
    const gate = await r.submit({ type: 'gate', params: { ms: 400 } });
    await waitForState(r, gate.id, ['running']);
    const order: number[] = [];
    r.subscribe({ type: 'mark', types: ['run.ended'] }, (ev) => {
      if (ev.event === 'run.ended') order.push((ev.data.output as { n: number }).n);
    });
    const marks = await r.submitMany([0, 5, -3, 5, 10].map((priority, n) => ({ type: 'mark', params: { n }, priority })));
    for (const t of marks) await waitForState(r, t.id);
    // priorities by n: 0→0, 1→5, 2→-3, 3→5, 4→10; equal priorities keep submit order.
    expect(order).toEqual([4, 1, 3, 0, 2]);
  });

  it('refuses submits beyond maxQueued open tasks with QUEUE_FULL, and accepts again when one ends', async () => {
    const r = (runtime = await startRuntime({ tasks: TASKS }));
    const a = await r.submit({ type: 'capped', schedule: { in: '1h' } });
    await r.submit({ type: 'capped', schedule: { in: '1h' } });
    await expect(r.submit({ type: 'capped' })).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    await expect(r.submitMany([{ type: 'capped' }])).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    await r.cancel(a.id);
    await expect(r.submit({ type: 'capped', schedule: { in: '1h' } })).resolves.toMatchObject({ state: 'queued' });
  });

  it('never starts a task before its due time', async () => {
    const r = (runtime = await startRuntime({ tasks: TASKS }));
    const t = await r.submit({ type: 'mark', params: {}, schedule: { in: '250ms' } });
    expect(t.state).toBe('queued');
    const done = await waitForState(r, t.id);
    expect(Date.parse(done.lastRun!.startedAt)).toBeGreaterThanOrEqual(Date.parse(t.nextRunAt!));
  });

  it('waits the retry delay between tries', async () => {
    const r = (runtime = await startRuntime({ tasks: TASKS }));
    const t = await r.submit({ type: 'retrying' });
    expect((await waitForState(r, t.id)).state).toBe('finished');
    const [first, second] = await r.runs(t.id);
    expect(Date.parse(second!.startedAt) - Date.parse(first!.endedAt!)).toBeGreaterThanOrEqual(300);
  });
});

describe('graceful stop', () => {
  it('aborts running handlers; a run whose handler settled on its signal is queued again without spending a try', async () => {
    const first = await startRuntime({ tasks: TASKS, retention: 'forever' });
    const t = await first.submit({ type: 'gate', params: { ms: 60_000 }, maxTries: 3 });
    await waitForState(first, t.id, ['running']);
    await first.stop(200);
    runtime = await startRuntime({ tasks: TASKS, data: first.options.data });
    const runs = await runtime.runs(t.id);
    expect(runs[0]).toMatchObject({ run: 1, attempt: 1, state: 'interrupted' });
    // Restarted as attempt 1 again: the interrupted try was given back.
    expect(runs[1]).toMatchObject({ run: 2, attempt: 1 });
    expect((await runtime.get(t.id)).state).toMatch(/queued|running/);
    await runtime.cancel(t.id);
  });
});
