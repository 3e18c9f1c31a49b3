import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ThreadExecutor } from '../../src/executor/thread-executor.js';
import type { Claim } from '../../src/store/task-source.js';
import { Slots } from '../../src/supervisor/slots.js';
import type { TaskRecord } from '../../src/task/record.js';
import { loadRegistry } from '../../src/task/registry.js';
import { FIXTURE_TASKS, removeTempDirs, startRuntime, waitForState } from '../helpers/runtime.js';
import type { Runtime } from '../../src/index.js';

/**
 * When a claim waits for more free slots (src/supervisor/slots.ts): while runs are short enough
 * to be claimed ahead, until half the runs ahead and a quarter of the pool are free, and never
 * longer than DEFER_AT_MOST_MS when some are.
 */

/** Claims of `n` runs of `type`, as settle reads them (their type only). */
const claimsOf = (n: number, type = 'noop'): Claim[] => Array.from({ length: n }, () => ({ rec: { type } as TaskRecord }) as Claim);

async function slotsFor(workers: number, runsPerWorker: number): Promise<{ slots: Slots; executor: ThreadExecutor }> {
  const registry = await loadRegistry({ tasksDir: FIXTURE_TASKS, logger: pino({ level: 'silent' }) });
  // Never started: the slots read only its size.
  const executor = new ThreadExecutor({ workers, runsPerWorker, logLevel: 'silent' });
  return { slots: new Slots(registry, () => executor, () => new Set()), executor };
}

/** Every slot taken, then `released` of them freed by runs of 0.1 ms (short: claimed ahead, 16 a worker). */
function busyThenReleased(slots: Slots, executor: ThreadExecutor, released: number): void {
  const all = slots.hold();
  slots.settle(all, claimsOf(executor.capacity));
  for (let i = 0; i < released; i++) slots.release(executor, 'noop', 0.1);
}

const freeOf = (hold: ReturnType<Slots['hold']>): number | undefined => hold.pools[0]?.free;

describe('Slots', () => {
  it('with many runs per worker and short runs, defers a claim until a quarter of the pool is free, unless told to claim now', async () => {
    // 2 × 256 slots and 32 ahead: a quarter of 544 is 136.
    const { slots, executor } = await slotsFor(2, 256);
    busyThenReleased(slots, executor, 103);
    const early = slots.hold();
    expect(early).toMatchObject({ deferred: true, pools: [] });
    const now = slots.hold(true);
    expect(freeOf(now)).toBe(135);
    slots.giveBack(now);
    slots.release(executor, 'noop', 0.1);
    const quarter = slots.hold();
    expect(quarter.deferred).toBe(false);
    expect(freeOf(quarter)).toBe(136);
  });

  it('with one run per worker, defers only until half the runs ahead are free, as before', async () => {
    // 2 slots and 32 ahead: half of 32 (16) is more than a quarter of 34.
    const { slots, executor } = await slotsFor(2, 1);
    busyThenReleased(slots, executor, 2);
    const hold = slots.hold();
    expect(hold.deferred).toBe(false);
    expect(freeOf(hold)).toBe(34);
    slots.settle(hold, claimsOf(19));
    expect(slots.hold()).toMatchObject({ deferred: true, pools: [] });
    slots.release(executor, 'noop', 0.1);
    expect(freeOf(slots.hold())).toBe(16);
  });

  it('before any run has ended, claims every free slot at once', async () => {
    const { slots, executor } = await slotsFor(2, 256);
    const hold = slots.hold();
    expect(hold.deferred).toBe(false);
    expect(freeOf(hold)).toBe(executor.capacity);
  });
});

describe('deferred claims in a runtime', () => {
  let runtime: Runtime | undefined;
  afterEach(async () => {
    await runtime?.stop(2_000);
    runtime = undefined;
    removeTempDirs();
  });

  it('claim a due task within seconds when long runs hold most of the slots and no run ends to free more', { timeout: 60_000 }, async () => {
    // 1 × 64 slots: once no-ops made runs short, 16 are claimed ahead and a claim waits for 20
    // free; 62 one-minute sleeps leave 18.
    const r = (runtime = await startRuntime({ workers: 1, runsPerWorker: 64 }));
    for (const t of await r.submitMany(Array.from({ length: 20 }, () => ({ type: 'noop' })))) await waitForState(r, t.id);
    const sleeps = await r.submitMany(Array.from({ length: 62 }, () => ({ type: 'sleep', params: { ms: 60_000 } })));
    for (const t of sleeps) await waitForState(r, t.id, ['running']);
    const began = Date.now();
    const late = await r.submit({ type: 'noop' });
    expect(await waitForState(r, late.id)).toMatchObject({ state: 'finished' });
    // Without the bound it waits for a sleep to end: a minute.
    expect(Date.now() - began).toBeLessThan(30_000);
    await Promise.all(sleeps.map((t) => r.cancel(t.id)));
  });
});
