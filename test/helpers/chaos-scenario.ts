import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { Client } from '../../src/index.js';
import type { TaskView } from '../../src/index.js';
import { type Aftermath, ChaosRuntime, openCount, readStore, statsUntil } from './chaos-runtime.js';
import { Checker, summaryLine, type Verdict } from './checker.js';
import { prng } from './prng.js';
import { Submitters, type SubmittersOptions } from './submitters.js';
import { tempDir } from './temp.js';

export const CHAOS_TASKS = fileURLToPath(new URL('../fixtures/chaos-tasks', import.meta.url));

export interface KillScenario {
  mode: 'threads' | 'processes';
  seed: number;
  kills: number;
  /** Time from a (re)start to the next kill, [lo, hi] ms. */
  upMs: [number, number];
  /**
   * Before each restart, the chance of an extra kill during start-up (while it recovers what the
   * last kill interrupted), [lo, hi] ms after spawning. Not counted in `kills`.
   */
  startupKills: { share: number; ms: [number, number] };
  workers: number;
  runsPerWorker: number;
  load: Omit<SubmittersOptions, 'data' | 'log' | 'seed'>;
}

export interface KillOutcome {
  verdict: Verdict;
  store: TaskView[];
  /** Submits waiting for an answer at the kills, summed. */
  inFlightAtKills: number;
  /** Runs in flight just before the kills, summed (from `stats`). */
  runningAtKills: number;
  /** Extra kills during start-up, and how many of them found it already serving. */
  startupKills: number;
  startupKillsServing: number;
  /** Processes of a killed runtime still alive ORPHAN_BOUND_MS after the kill. */
  orphans: number[];
  /** The longest a killed runtime's processes took to be gone. */
  slowestGoneMs: number;
  seconds: number;
}

/** The runtime for a scenario, to close in afterEach whatever happens. */
export const live = new Set<ChaosRuntime>();

/**
 * Clients keep submitting while the runtime is SIGKILLed at seeded random moments and started
 * again at once; then a clean run drains everything, a clean restart reads the store, and the
 * checker compares.
 */
export async function runKillScenario(s: KillScenario): Promise<KillOutcome> {
  const began = Date.now();
  const rng = prng(s.seed);
  const data = tempDir('spindle-chaos-');
  const log = join(tempDir('spindle-chaos-log-'), 'exec.log');
  const rt = new ChaosRuntime({ data, tasks: CHAOS_TASKS, mode: s.mode, workers: s.workers, runsPerWorker: s.runsPerWorker, log });
  live.add(rt);
  await rt.start();
  const checker = new Checker();
  const submitters = await Submitters.start({ ...s.load, data, log, seed: s.seed }, checker);
  const probe = await Client.connect({ data, reconnectWindowMs: 120_000 });
  let inFlightAtKills = 0;
  let runningAtKills = 0;
  let startupKills = 0;
  let startupKillsServing = 0;
  const aftermaths: Array<Promise<Aftermath>> = [];
  for (let k = 0; k < s.kills; k++) {
    // The kill moment is the test's random variable, not a wait for a state.
    await new Promise((r) => setTimeout(r, rng.int(...s.upMs)));
    runningAtKills += (await probe.stats()).states.running ?? 0;
    inFlightAtKills += submitters.inFlight;
    aftermaths.push((await rt.kill()).aftermath);
    if (rng.next() < s.startupKills.share) {
      const { serving, aftermath } = await rt.startAndKill(rng.int(...s.startupKills.ms));
      aftermaths.push(aftermath);
      startupKills++;
      if (serving) startupKillsServing++;
    }
    await rt.start();
  }
  const after = await Promise.all(aftermaths);
  await submitters.stop();
  await statsUntil(probe, (stats) => openCount(stats) === 0);
  await probe.close();
  await rt.stop();

  await rt.start();
  const reader = await Client.connect({ data });
  const store = await readStore(reader);
  const text = readFileSync(log, 'utf8');
  const verdict = checker.check(store, text);
  if (verdict.overlapCids.length > 0) printOverlaps(text, verdict.overlapCids);
  const byCid = new Map(store.map((t) => [String((t.params as { cid: string }).cid), t]));
  // A handler that returned just before a kill ran again: that is at least once only if its run
  // was never recorded finished, i.e. the restart found it in flight and counted it lost.
  for (const { cid, attempt } of verdict.rerunsAfterUnrecordedEnd) {
    const runs = await reader.runs(byCid.get(cid)!.id);
    if (runs.find((r) => r.attempt === attempt)?.state !== 'lost') verdict.afterFinished++;
  }
  await reader.close();
  await rt.stop();
  live.delete(rt);
  return {
    verdict, store, inFlightAtKills, runningAtKills, startupKills, startupKillsServing,
    orphans: after.flatMap((a) => a.orphans), slowestGoneMs: Math.max(0, ...after.map((a) => a.goneMs)),
    seconds: Math.round((Date.now() - began) / 100) / 10,
  };
}

/** The log lines of overlapping tasks, with the kill and gone lines among them, to read after a failure. */
function printOverlaps(text: string, cids: readonly string[]): void {
  const wanted = new Set(cids.slice(0, 5));
  const lines = text.split('\n');
  const first = Math.min(...lines.flatMap((l, i) => (wanted.has(l.split(' ')[0]!) ? [i] : [])));
  const shown = lines.flatMap((l, i) => (i >= first && (wanted.has(l.split(' ')[0]!) || l.startsWith('- ')) ? [`${i}: ${l}`] : []));
  console.log(`[chaos] overlapping executions of ${cids.join(' ')}:\n${shown.slice(0, 60).join('\n')}`);
}

/** No process of a killed runtime outlived it by ORPHAN_BOUND_MS. */
export function expectNoOrphans(o: KillOutcome, seed: number): void {
  expect(o.orphans, `processes left by a killed runtime (replay with SPINDLE_CHAOS_SEED=${seed})`).toEqual([]);
}

/** What every chaos test asserts: nothing lost, nothing unexpected, duplicates only from kills. */
export function expectClean(v: Verdict, seed: number | null): void {
  const why = seed === null ? 'no random choices' : `replay with SPINDLE_CHAOS_SEED=${seed}`;
  expect(v.lost, `lost (${why})`).toEqual([]);
  expect(v.unexpected, `unexpected (${why})`).toEqual([]);
  expect(v.halfBatches, `in-doubt batches half stored (${why})`).toBe(0);
  expect(v.overlapping, `overlapping executions (${why})`).toBe(0);
  expect(v.afterFinished, `executions of a finished task (${why})`).toBe(0);
  expect(v.triesUnexplained, `tries no kill explains (${why})`).toBe(0);
  expect(v.triesMismatch, `stored tries against the log (${why})`).toBe(0);
  expect(v.unended, `executions neither ended nor killed (${why})`).toBe(0);
  expect(v.tornLines, `torn log lines (${why})`).toBe(0);
  expect(v.acknowledged + v.inDoubt + v.refused, why).toBe(v.submitted);
}

export function printSummary(name: string, seed: number, o: KillOutcome): void {
  console.log(summaryLine(name, seed, o.verdict, { inFlightAtKills: o.inFlightAtKills, runningAtKills: o.runningAtKills, startupKills: o.startupKills, startupKillsServing: o.startupKillsServing, orphans: o.orphans.length, slowestGoneMs: o.slowestGoneMs, seconds: o.seconds }));
}
