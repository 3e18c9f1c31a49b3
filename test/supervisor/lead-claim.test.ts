import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import { systemClock } from '../../src/clock.js';
import type { Runtime } from '../../src/index.js';
import { SEND_AHEAD_MS } from '../../src/supervisor/held-runs.js';
import { removeTempDirs, startRuntime, tempDir, until, waitForState } from '../helpers/runtime.js';
import { CONTRACT_TASKS } from '../source-contract/harness.js';

/**
 * The system clock with a wall time the test can hold still (`at`): a task due just after it is
 * claimed within the LevelDB source's lead (4 ms at least) and held, for as long as the test
 * keeps the clock short of its due time. Timers stay real.
 */
function stillClock(): Clock & { at: number | null } {
  const clock = { ...systemClock, at: null as number | null, now: () => clock.at ?? Date.now() };
  return clock;
}

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.stop(2000);
  runtime = undefined;
  removeTempDirs();
});

/**
 * A `hold` task (it writes its marker when its handler starts) due just after the held clock:
 * within the source's least lead (4 ms), so claimed at once, and beyond SEND_AHEAD_MS, so held by
 * the runtime (a run due sooner goes to its worker, which waits on the real clock).
 */
async function heldTask(clock: Clock & { at: number | null }): Promise<{ r: Runtime; id: string; due: number; marker: string; data: string }> {
  const data = tempDir();
  const r = (runtime = await startRuntime({ data, clock, tasks: CONTRACT_TASKS }));
  clock.at = Date.now();
  const due = clock.at + SEND_AHEAD_MS + 1;
  const marker = join(tempDir(), 'started');
  const t = await r.submit({ type: 'hold', params: { marker }, schedule: { at: new Date(due).toISOString() } });
  await waitForState(r, t.id, ['running']);
  // A task due now runs and ends meanwhile (time passes, the loop turns): the held one stays held.
  const probe = await r.submit({ type: 'noop' });
  await waitForState(r, probe.id);
  expect(existsSync(marker)).toBe(false);
  return { r, id: t.id, due, marker, data };
}

describe('lead claim: a run claimed ahead of its due time is held until it', () => {
  it('its start is written ahead, but its handler starts only once the clock reaches the due time, and its run says it started then', async () => {
    const clock = stillClock();
    const { r, id, due, marker } = await heldTask(clock);
    const [held] = await r.runs(id);
    expect(held).toMatchObject({ state: 'running', attempt: 1, startedAt: new Date(due).toISOString() });
    clock.at = due;
    await until(() => existsSync(marker));
    await r.cancel(id);
  });

  it('a cancel while it is held drops it unstarted: the task ends cancelled and its handler never runs, not even once the due time passes', async () => {
    const clock = stillClock();
    const { r, id, marker } = await heldTask(clock);
    await r.cancel(id);
    expect(await waitForState(r, id)).toMatchObject({ state: 'failed', reason: 'cancelled' });
    clock.at = null;
    // Past its due time, with the loop turning: a dropped run is never sent.
    const probe = await r.submit({ type: 'noop' });
    await waitForState(r, probe.id);
    expect(existsSync(marker)).toBe(false);
    expect((await r.runs(id)).map((run) => run.state)).toEqual(['cancelled']);
  });

  it('a graceful stop while it is held gives its try back: the run is interrupted unstarted, and the next start runs it as attempt 1', async () => {
    const clock = stillClock();
    const { r, id, marker, data } = await heldTask(clock);
    await r.stop(2000);
    runtime = undefined;
    expect(existsSync(marker)).toBe(false);
    const again = (runtime = await startRuntime({ data, tasks: CONTRACT_TASKS }));
    await until(() => existsSync(marker));
    const runs = await again.runs(id);
    expect(runs.map((run) => [run.state, run.attempt])).toEqual([['interrupted', 1], ['running', 1]]);
  });
});
