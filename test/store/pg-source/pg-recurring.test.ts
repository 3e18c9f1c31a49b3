import { describe, expect, it } from 'vitest';
import { pgTestBed, startPgRuntime } from '../../helpers/pg-supervisor.js';

/** A database of its own per test, and the bed.runtimes it starts there (stopped, then dropped, after it). */
const bed = pgTestBed();

const iso = (ms: number): string => new Date(ms).toISOString();

describe('recurring tasks on three bed.runtimes sharing one database', () => {
  it('fire once per slot, also when one runtime stops midway; runs of one task never overlap', async () => {
    bed.runtimes = await Promise.all([0, 1, 2].map(() => startPgRuntime(bed.db.url, { leaseMs: 2000 })));
    const start = Date.now() + 1000;
    const slots = 10;
    const tasks = await Promise.all([0, 1, 2, 3].map((i) => bed.runtimes[i % 3]!.supervisor.submit({
      // Each run holds its slot half the interval, so the stop likely finds runs in flight.
      type: 'sleep', params: { ms: 150 + i }, schedule: { every: '300ms', start: iso(start), count: slots }, misfire: 'all',
    })));
    // Midway, one runtime stops without grace: what it runs is lost and retried elsewhere.
    await expect.poll(async () => (await bed.runtimes[0]!.supervisor.get(tasks[0]!.id)).occurrences, { timeout: 30_000 }).toBeGreaterThanOrEqual(slots / 2);
    await bed.runtimes[0]!.stop(0);
    const reader = bed.runtimes[1]!.supervisor;
    for (const t of tasks) {
      await expect.poll(async () => (await reader.get(t.id)).state, { timeout: 60_000 }).toBe('finished');
      expect(await reader.get(t.id)).toMatchObject({ occurrences: slots, reason: 'exhausted' });
      const runs = (await reader.runs(t.id)).sort((a, b) => a.run - b.run);
      // One finished run per slot; a lost run is retried within its slot, never adds one. So is
      // one the stopped runtime had claimed ahead of its due time and held: given back unstarted.
      expect(runs.filter((r) => r.state === 'finished')).toHaveLength(slots);
      expect(runs.every((r) => r.state === 'finished' || r.state === 'lost' || r.state === 'interrupted')).toBe(true);
      for (let k = 1; k < runs.length; k++) {
        const before = runs[k - 1]!;
        // A lost run has no end of its own; the next one starts after its loss was recorded.
        if (before.state === 'finished') expect(Date.parse(runs[k]!.startedAt)).toBeGreaterThanOrEqual(Date.parse(before.endedAt!));
      }
    }
  });
});
