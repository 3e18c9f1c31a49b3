import { afterEach, describe, expect, it } from 'vitest';
import type { Runtime, TaskView } from '../../src/index.js';
import { type Clock, systemClock } from '../../src/clock.js';
import { removeTempDirs, startRuntime, until, waitForState } from '../helpers/runtime.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.stop(2000);
  runtime = undefined;
  removeTempDirs();
});

/** The system clock with a wall time the test sets; timers and the monotonic clock stay real. */
function movableClock(): Clock & { offset: number; setWall(at: number): void } {
  const clock = {
    ...systemClock,
    offset: 0,
    now: () => Date.now() + clock.offset,
    setWall: (at: number) => { clock.offset = at - Date.now(); },
  };
  return clock;
}

/** A due-now task run to its end: the supervisor looks at its (moved) clock and due tasks on the way. */
async function probe(r: Runtime): Promise<void> {
  await waitForState(r, (await r.submit({ type: 'noop' })).id);
}

function waitFor(r: Runtime, id: string, done: (v: TaskView) => boolean): Promise<TaskView> {
  return until(async () => {
    const v = await r.get(id);
    return done(v) ? v : undefined;
  });
}

describe('T1: the wall clock moved under a running runtime', () => {
  it('hopping back and forth across a fire time fires it once, never early', async () => {
    const clock = movableClock();
    const r = (runtime = await startRuntime({ clock }));
    const fire = Math.ceil((Date.now() + HOUR) / MINUTE) * MINUTE;
    const t = await r.submit({ type: 'noop', schedule: { every: '1h', start: new Date(fire).toISOString() } });

    clock.setWall(fire - SECOND);
    await probe(r);
    expect(await r.get(t.id)).toMatchObject({ runCount: 0, nextRunAt: new Date(fire).toISOString() });

    clock.setWall(fire + SECOND);
    await probe(r);
    await waitFor(r, t.id, (v) => v.runCount === 1 && v.state === 'queued');

    for (const at of [fire - 30 * MINUTE, fire + 2 * SECOND, fire - SECOND, fire + 3 * SECOND, fire - HOUR]) {
      clock.setWall(at);
      await probe(r);
    }
    const runs = await r.runs(t.id);
    expect(runs).toHaveLength(1);
    expect(Date.parse(runs[0]!.startedAt)).toBeGreaterThanOrEqual(fire);
    expect(await r.get(t.id)).toMatchObject({ runCount: 1, occurrences: 1, nextRunAt: new Date(fire + HOUR).toISOString() });
  });

  it.each([
    // 72 hourly slots were missed by the jump; the next one is ahead.
    ['coalesce', 2],
    ['skip', 1],
    ['all', 73],
  ])('a jump three days ahead follows misfire "%s": %i runs in all, then the next slot ahead', async (misfire, runCount) => {
    const clock = movableClock();
    const r = (runtime = await startRuntime({ clock }));
    const t = await r.submit({ type: 'noop', schedule: { every: '1h' }, misfire });
    const t0 = Date.parse((t.schedule as { start: string }).start);
    await waitFor(r, t.id, (v) => v.runCount === 1 && v.state === 'queued');

    clock.setWall(t0 + 3 * DAY + 30 * MINUTE);
    await probe(r);
    const v = await waitFor(r, t.id, (x) => x.state === 'queued' && x.nextRunAt === new Date(t0 + 73 * HOUR).toISOString());
    expect(v.runCount).toBe(runCount);
    const runs = await r.runs(t.id);
    expect(runs.every((run) => run.state === 'finished')).toBe(true);
    // One run per slot at most: no two runs started for one fire time.
    expect(v.occurrences).toBe(runCount);
  });

  it.each([
    ['forward', HOUR],
    ['back', -HOUR],
  ])('moving the wall clock an hour %s during a run with a 2 s timeout kills it on the monotonic clock', async (_dir, jump) => {
    const clock = movableClock();
    const r = (runtime = await startRuntime({ clock }));
    // Listening before the submit: the run starts as soon as the submit is written.
    const started = new Promise<number>((resolve) => {
      const stop = r.subscribe({ type: 'sleep', types: ['run.started'] }, () => {
        stop();
        resolve(performance.now());
      });
    });
    const t = await r.submit({ type: 'sleep', params: { ms: 60_000 }, timeout: '2s', maxTries: 1 });
    const startedAt = await started;
    clock.offset += jump;
    await probe(r);
    const ended = await waitForState(r, t.id);
    const elapsed = performance.now() - startedAt;
    expect(ended).toMatchObject({ state: 'terminated', reason: 'timeout' });
    expect(ended.lastRun?.error?.code).toBe('TIMEOUT');
    // Not early by the jump forward, not an hour late by the jump back (timeout + 2 s, with room
    // for a loaded machine).
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(20_000);
  });
});

describe('B3: a running runtime fires a cron slot in a DST gap or overlap exactly once (fixed instants)', () => {
  it.each([
    // New York springs forward at 07:00Z on 2027-03-14: 02:30 local does not exist, it fires at 03:00 EDT.
    ['gap', '2027-03-14T06:50:00Z', '0 30 2 * * *', '2027-03-14T07:00:00.000Z', ['2027-03-14T07:00:01Z', '2027-03-14T07:31:00Z', '2027-03-14T08:00:00Z'], '2027-03-15T06:30:00.000Z'],
    // New York falls back at 06:00Z on 2027-11-07: 01:30 local happens twice, it fires on the first pass.
    ['overlap', '2027-11-07T05:20:00Z', '0 30 1 * * *', '2027-11-07T05:30:00.000Z', ['2027-11-07T05:30:01Z', '2027-11-07T06:30:01Z', '2027-11-07T06:45:00Z'], '2027-11-08T06:30:00.000Z'],
  ])('%s', async (_name, submitAt, cron, fireAt, later, next) => {
    const clock = movableClock();
    clock.setWall(Date.parse(submitAt));
    const r = (runtime = await startRuntime({ clock }));
    const t = await r.submit({ type: 'noop', schedule: { cron, tz: 'America/New_York' } });
    expect(t.nextRunAt).toBe(fireAt);
    clock.setWall(Date.parse(fireAt) - SECOND);
    await probe(r);
    expect((await r.get(t.id)).runCount).toBe(0);
    for (const at of later) {
      clock.setWall(Date.parse(at));
      await probe(r);
      await waitFor(r, t.id, (v) => v.runCount === 1 && v.state === 'queued');
    }
    const runs = await r.runs(t.id);
    expect(runs).toHaveLength(1);
    expect(Date.parse(runs[0]!.startedAt)).toBeGreaterThanOrEqual(Date.parse(fireAt));
    expect(await r.get(t.id)).toMatchObject({ runCount: 1, nextRunAt: next });
  });
});
