import { afterEach, describe, expect, it } from 'vitest';
import { expectClean, expectNoOrphans, live, printSummary, runKillScenario } from '../helpers/chaos-scenario.js';
import { chaosSeed } from '../helpers/prng.js';
import { removeTempDirs } from '../helpers/temp.js';

afterEach(async () => {
  for (const rt of live) await rt.close();
  live.clear();
  removeTempDirs();
});

// The quick cousin of test/chaos/kill-nine.test.ts (C2), for `npm test`: 3 kills, 4 clients.
describe.each(['threads', 'processes'] as const)('C2 (smoke): 4 clients submitting while 3 kill -9s land (%s mode)', (mode) => {
  it('loses nothing acknowledged and reruns only runs a kill interrupted', async () => {
    const seed = chaosSeed();
    const outcome = await runKillScenario({
      mode, seed, kills: 3, upMs: [300, 1000], startupKills: { share: 0.5, ms: [20, 500] }, workers: 2, runsPerWorker: 16,
      load: { clients: 4, batch: [1, 6], pauseMs: [10, 100], runMs: [0, 200], longRuns: { share: 0.01, ms: [6000, 8000] } },
    });
    printSummary(`C2 smoke ${mode}`, seed, outcome);
    expectClean(outcome.verdict, seed);
    expectNoOrphans(outcome, seed);
    expect(outcome.verdict.kills).toBe(3 + outcome.startupKills);
    expect(outcome.verdict.acknowledged).toBeGreaterThan(0);
  }, 120_000);
});
