import { afterEach, describe, expect, it } from 'vitest';
import { expectClean, expectNoOrphans, live, printSummary, runKillScenario } from '../helpers/chaos-scenario.js';
import { chaosSeed } from '../helpers/prng.js';
import { removeTempDirs } from '../helpers/temp.js';

afterEach(async () => {
  for (const rt of live) await rt.close();
  live.clear();
  removeTempDirs();
});

describe.each(['threads', 'processes'] as const)('C2: 20 clients submitting while 20 kill -9s land at random moments (%s mode)', (mode) => {
  it('loses nothing acknowledged, stores each unanswered batch wholly or not at all, and reruns only runs a kill interrupted', async () => {
    const seed = chaosSeed();
    console.log(`[chaos] C2 ${mode}: seed ${seed} (SPINDLE_CHAOS_SEED=${seed} replays its choices)`);
    const outcome = await runKillScenario({
      mode, seed, kills: 20, upMs: [300, 2000], startupKills: { share: 0.3, ms: [20, 500] }, workers: 2, runsPerWorker: 32,
      load: { clients: 20, batch: [1, 8], pauseMs: [20, 200], runMs: [0, 300], longRuns: { share: 0.003, ms: [8000, 12000] } },
    });
    printSummary(`C2 ${mode}`, seed, outcome);
    const v = outcome.verdict;
    expectClean(v, seed);
    expectNoOrphans(outcome, seed);
    expect(v.kills).toBe(20 + outcome.startupKills);
    // The kills must have found work to interrupt, or the test proved nothing about runs.
    expect(v.interrupted, `replay with SPINDLE_CHAOS_SEED=${seed}`).toBeGreaterThan(0);
    expect(v.acknowledged).toBeGreaterThan(1000);
  });
});
