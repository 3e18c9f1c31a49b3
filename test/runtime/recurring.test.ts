import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime, TaskView } from '../../src/index.js';
import { MAX_TIMER_MS } from '../../src/duration.js';
import { type Clock, systemClock } from '../../src/clock.js';
import { removeTempDirs, startRuntime, tempDir, until, waitForState } from '../helpers/runtime.js';

const HOUR = 3_600_000;

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.stop(2000);
  runtime = undefined;
  removeTempDirs();
});

/** The system clock with a wall time the test can move: downtime and clock jumps without waiting. */
function movableClock(): Clock & { offset: number } {
  const clock = {
    ...systemClock,
    offset: 0,
    now: () => Date.now() + clock.offset,
  };
  return clock;
}

/** The first fire time of an `every` task that was due at submit: its stored start. */
const startOf = (t: TaskView): number => Date.parse((t.schedule as { start: string }).start);

/** Waits until the task's record satisfies `done`, re-reading it on every state event and poll. */
function waitFor(r: Runtime, id: string, done: (v: TaskView) => boolean): Promise<TaskView> {
  return until(async () => {
    const v = await r.get(id);
    return done(v) ? v : undefined;
  });
}

describe('recurring tasks', () => {
  it('runs an `every` schedule with count exactly that many times, then finishes exhausted', async () => {
    const r = (runtime = await startRuntime());
    // A run that outlasts the next fire time stands for it (coalesce): a cold worker's first module
    // load on a loaded machine once took longer than two 100 ms steps. Warm the worker first, and
    // leave each run a step a loaded machine does not overrun.
    await waitForState(r, (await r.submit({ type: 'noop' })).id);
    const t = await r.submit({ type: 'noop', schedule: { every: '300ms', count: 3 } });
    expect(t.recurring).toBe(true);
    const done = await waitForState(r, t.id);
    expect(done).toMatchObject({ state: 'finished', reason: 'exhausted', runCount: 3, occurrences: 3, nextRunAt: null });
    const runs = await r.runs(t.id);
    expect(runs.map((x) => x.state)).toEqual(['finished', 'finished', 'finished']);
    for (let i = 1; i < runs.length; i++) expect(Date.parse(runs[i]!.startedAt)).toBeGreaterThanOrEqual(Date.parse(runs[i - 1]!.endedAt!));
  });

  it('never overlaps a slow occurrence with the next, and coalesces the fire times it covered', async () => {
    const r = (runtime = await startRuntime());
    let running = 0;
    let max = 0;
    r.subscribe({ types: ['run.started', 'run.ended'] }, (ev) => {
      running += ev.event === 'run.started' ? 1 : -1;
      max = Math.max(max, running);
    });
    // Six fire times 50 ms apart all pass during the first 300 ms run: at most one more run follows.
    const t = await r.submit({ type: 'sleep', params: { ms: 300 }, schedule: { every: '50ms', count: 6 } });
    const done = await waitForState(r, t.id);
    expect(done).toMatchObject({ state: 'finished', reason: 'exhausted' });
    expect(max).toBe(1);
    expect(done.runCount).toBeGreaterThanOrEqual(1);
    expect(done.runCount).toBeLessThanOrEqual(2);
  });

  it('with misfire "all" runs every fire time in order, one at a time', async () => {
    const r = (runtime = await startRuntime());
    const t = await r.submit({ type: 'sleep', params: { ms: 150 }, schedule: { every: '20ms', count: 4 }, misfire: 'all' });
    const done = await waitForState(r, t.id);
    expect(done).toMatchObject({ state: 'finished', reason: 'exhausted', runCount: 4 });
    const runs = await r.runs(t.id);
    for (let i = 1; i < runs.length; i++) expect(Date.parse(runs[i]!.startedAt)).toBeGreaterThanOrEqual(Date.parse(runs[i - 1]!.endedAt!));
  });

  it('run-now runs a recurring task once and keeps its schedule', async () => {
    const r = (runtime = await startRuntime());
    const start = new Date(Date.now() + HOUR).toISOString();
    const t = await r.submit({ type: 'noop', schedule: { every: '1h', start } });
    expect(t.nextRunAt).toBe(start);
    await r.runNow(t.id);
    const after = await waitFor(r, t.id, (v) => v.runCount === 1 && v.state === 'queued');
    expect(after.nextRunAt).toBe(start);
    expect(after.lastRun?.state).toBe('finished');
  });

  it('stretches an adaptive interval after uneventful runs up to maxEvery, and shrinks it after eventful ones', async () => {
    const r = (runtime = await startRuntime());
    const schedule = { every: '40ms', minEvery: '20ms', maxEvery: '160ms', backoff: 2, count: 4 };
    const quiet = await r.submit({ type: 'echo', params: { eventful: false }, schedule });
    expect(quiet.interval).toBe(40);
    const busy = await r.submit({ type: 'echo', params: { eventful: true }, schedule });
    const [q, b] = await Promise.all([waitForState(r, quiet.id), waitForState(r, busy.id)]);
    // 40 → 80 → 160 → 160 (capped) → 160; and 40 → 20 (floored) each time.
    expect(q).toMatchObject({ state: 'finished', reason: 'exhausted', runCount: 4, interval: 160 });
    expect(b).toMatchObject({ state: 'finished', reason: 'exhausted', runCount: 4, interval: 20 });
    const runs = await r.runs(quiet.id);
    // Each fire time is the previous one plus the interval then current, so starts spread out.
    expect(Date.parse(runs[3]!.startedAt) - Date.parse(runs[0]!.startedAt)).toBeGreaterThanOrEqual(80 + 160 + 160 - 5);
  });
});

describe('misfires', () => {
  /** A task that ran its first occurrence at T0 and waits for T0 + 1 h, in a runtime that was stopped. */
  async function ranOnceThenStopped(data: string, misfire: string): Promise<{ id: string; t0: number }> {
    const first = await startRuntime({ data });
    const t = await first.submit({ type: 'noop', schedule: { every: '1h' }, misfire });
    const t0 = startOf(t);
    await waitFor(first, t.id, (v) => v.runCount === 1 && v.state === 'queued');
    await first.stop(2000);
    return { id: t.id, t0 };
  }

  it.each([
    // Down 5 h 30 min past T0: fire times T0+1h … T0+5h were missed; the next is T0+6h.
    ['coalesce', 2],
    ['skip', 1],
    ['all', 6],
  ])('T1: after downtime, misfire "%s" leaves %i runs and the next fire time ahead', async (misfire, runCount) => {
    const data = tempDir();
    const { id, t0 } = await ranOnceThenStopped(data, misfire);
    const clock = movableClock();
    clock.offset = 5.5 * HOUR;
    const r = (runtime = await startRuntime({ data, clock }));
    const v = await waitFor(r, id, (x) => x.nextRunAt === new Date(t0 + 6 * HOUR).toISOString() && x.state === 'queued');
    expect(v.runCount).toBe(runCount);
    expect((await r.runs(id)).every((run) => run.state === 'finished')).toBe(true);
  });

  it.each([
    ['coalesce', 2],
    ['skip', 1],
  ])('a task paused past its fire times follows misfire "%s" on resume', async (misfire, runCount) => {
    const clock = movableClock();
    const r = (runtime = await startRuntime({ clock }));
    const t = await r.submit({ type: 'noop', schedule: { every: '1h' }, misfire });
    const t0 = startOf(t);
    await waitFor(r, t.id, (v) => v.runCount === 1 && v.state === 'queued');
    await r.pause(t.id);
    clock.offset = 3.5 * HOUR;
    await r.resume(t.id);
    const v = await waitFor(r, t.id, (x) => x.nextRunAt === new Date(t0 + 4 * HOUR).toISOString() && x.state === 'queued');
    expect(v.runCount).toBe(runCount);
  });

  it('T1: does not run a fire time again when the wall clock is set back an hour after a fire', async () => {
    const clock = movableClock();
    const r = (runtime = await startRuntime({ clock }));
    const t = await r.submit({ type: 'noop', schedule: { every: '1h' } });
    const t0 = startOf(t);
    await waitFor(r, t.id, (v) => v.runCount === 1 && v.state === 'queued');
    clock.offset = -2 * HOUR;
    // A submit and its run make the supervisor look at the (set back) clock and its due window.
    const probe = await r.submit({ type: 'noop' });
    await waitForState(r, probe.id);
    const v = await r.get(t.id);
    expect(v).toMatchObject({ runCount: 1, state: 'queued', nextRunAt: new Date(t0 + HOUR).toISOString() });
  });
});

describe('far fire times', () => {
  it('B4: the system clock clamps a timer to 2^31−1 ms instead of letting Node fire it at once', () => {
    const timer = systemClock.setTimer(() => undefined, 40 * 24 * HOUR);
    // Node fires a setTimeout above 2^31−1 ms after 1 ms; its own record of the delay shows the clamp.
    expect((timer as unknown as { _idleTimeout: number })._idleTimeout).toBe(MAX_TIMER_MS);
    systemClock.clearTimer(timer);
  });

  it('re-arms after a timer fires early and runs a task due in 40 days only when due', async () => {
    // Timers fire after 20 ms whatever they were asked for: every early fire must re-arm, not run.
    const asked: number[] = [];
    const clock = movableClock();
    clock.setTimer = (fn, ms) => {
      asked.push(ms);
      return setTimeout(fn, Math.min(ms, 20));
    };
    const r = (runtime = await startRuntime({ clock }));
    const due = Date.now() + 40 * 24 * HOUR;
    const t = await r.submit({ type: 'noop', schedule: { at: new Date(due).toISOString() } });
    await until(() => asked.filter((ms) => ms > MAX_TIMER_MS).length >= 3);
    expect(await r.get(t.id)).toMatchObject({ state: 'queued', runCount: 0 });
    clock.offset = due - Date.now();
    expect(await waitForState(r, t.id)).toMatchObject({ state: 'finished', runCount: 1 });
  });
});

describe('T1: retry delays across clock jumps', () => {
  const DISPATCH_TASKS = fileURLToPath(new URL('../fixtures/dispatch-tasks', import.meta.url));

  it.each([
    ['set back an hour', -HOUR],
    ['set forward an hour', HOUR],
  ])('a retry waits its 300 ms delay on the monotonic clock when the wall clock is %s', async (_name, jump) => {
    const clock = movableClock();
    const r = (runtime = await startRuntime({ clock, tasks: DISPATCH_TASKS }));
    const t = await r.submit({ type: 'retrying' });
    // When each try's handler ran, as the handler read it: a run claimed ahead of its due time
    // (the claim lead) is announced early but held until due, so only the handler's instant shows
    // the delay it waited.
    const failedAt = await new Promise<number>((resolve) => {
      const stop = r.subscribe({ taskId: t.id, types: ['run.ended'] }, (ev) => {
        stop();
        resolve(Number(/fails at ([\d.]+)/.exec(ev.event === 'run.ended' ? ev.data.error?.message ?? '' : '')?.[1]));
      });
    });
    clock.offset += jump;
    // Another task makes the supervisor look at its due tasks at once, with the moved clock.
    await waitForState(r, (await r.submit({ type: 'gate', params: { ms: 0 } })).id);
    const done = await waitForState(r, t.id);
    expect(done).toMatchObject({ state: 'finished', tries: 2 });
    // Not early by the jump forward; not an hour late by the jump back (the test would time out).
    // (A timer may fire up to 1 ms before its whole ms.)
    expect((done.lastRun!.output as { at: number }).at - failedAt).toBeGreaterThanOrEqual(299);
  });
});
