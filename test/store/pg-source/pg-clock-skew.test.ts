import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/clock.js';
import { systemClock } from '../../../src/clock.js';
import { pgTestBed, startPgRuntime } from '../../helpers/pg-supervisor.js';

/** A database of its own per test, and the bed.runtimes it starts there (stopped, then dropped, after it). */
const bed = pgTestBed();

/** The system clock, with its wall time `skewMs` off (timers and monotonic time are the real ones). */
const skewed = (skewMs: number): Clock => ({ ...systemClock, now: () => Date.now() + skewMs });

describe('bed.runtimes whose clocks disagree, on one PostgreSQL database', () => {
  it('two sources 5 minutes ahead and 5 minutes behind run tasks when the database says they are due, once each', async () => {
    bed.runtimes = [
      await startPgRuntime(bed.db.url, { sourceClock: skewed(5 * 60_000) }),
      await startPgRuntime(bed.db.url, { sourceClock: skewed(-5 * 60_000) }),
    ];
    // One runtime's listener hears the starts of both (the other's through the database).
    const started = new Map<string, number>();
    bed.runtimes[0]!.supervisor.subscribe({ types: ['run.started'] }, (ev) => {
      if (ev.event === 'run.started') started.set(ev.data.id, (started.get(ev.data.id) ?? 0) + 1);
    });
    // Due 1–2 s from now by the database's clock (this machine's: the server runs here).
    const base = Date.now() + 1000;
    const tasks = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      bed.runtimes[i % 2]!.supervisor.submit({ type: 'noop', schedule: { at: new Date(base + i * 50).toISOString() } })));
    await expect.poll(() => started.size, { timeout: 30_000 }).toBe(20);
    for (const t of tasks) {
      const view = await bed.runtimes[0]!.supervisor.get(t.id);
      const startedAt = Date.parse(view.lastRun!.startedAt);
      const due = Date.parse(t.nextRunAt!);
      // Not early by the ahead clock, not 5 minutes late by the behind one (bounds generous for a loaded machine).
      expect(startedAt).toBeGreaterThanOrEqual(due);
      expect(startedAt - due).toBeLessThan(10_000);
    }
    expect([...started.values()].every((n) => n === 1)).toBe(true);
  });
});
