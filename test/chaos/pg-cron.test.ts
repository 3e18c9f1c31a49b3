import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Execution, parseExecLog } from '../helpers/exec-log.js';
import { cidOf, clusterBed, openExecutionsOf, statsWithin } from '../helpers/pg-cluster.js';

const bed = clusterBed();

const TASKS = 6;
const SLOTS = 60;
const LEASE_MS = 3000;
/** Each run's length: most of its second, so the kill finds runs in flight. */
const RUN_MS = 600;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

describe('P4: cron every second for a minute across 4 real runtimes on one PostgreSQL database, one of them killed -9 midway', () => {
  it('each slot runs exactly once (a run lost with its runtime is retried within its slot), never before its time, and runs of a task never overlap', async () => {
    const modes = ['threads', 'threads', 'processes', 'threads'] as const;
    const cluster = await bed.start({ modes, leaseMs: LEASE_MS, workers: 1, runsPerWorker: 8 });
    await cluster.start();
    const log = cluster.log;
    const clients = await Promise.all(cluster.runtimes.map((_, i) => cluster.client(i)));
    const start = Math.ceil(Date.now() / 1000) * 1000 + 3000;
    const tasks = await Promise.all(Array.from({ length: TASKS }, (_, i) => clients[i % clients.length]!.submit({
      type: 'chaos-work', params: { cid: `tick${i}`, log, ms: RUN_MS },
      // Every slot runs, late if it must (after the kill): so each of the 60 can be counted.
      schedule: { cron: '* * * * * *', start: new Date(start).toISOString(), count: SLOTS }, misfire: 'all',
    })));

    // Midway, kill -9 a runtime on which a handler has just begun (so it is still running at the kill).
    while (Date.now() < start + (SLOTS / 2) * 1000) await sleep(100);
    const justBegun = (pids: number[]): boolean => openExecutionsOf(log, pids).some((ex) => Date.now() - ex.startMs! < RUN_MS / 3);
    let victimIndex = -1;
    for (const until = Date.now() + 10_000; victimIndex < 0 && Date.now() < until; await sleep(10)) {
      victimIndex = cluster.runtimes.findIndex((rt) => justBegun(rt.markedPids()));
    }
    expect(victimIndex, 'no runtime ran a handler for 10 s').toBeGreaterThanOrEqual(0);
    const victim = cluster.runtimes[victimIndex]!;
    const victimPids = victim.markedPids();
    // Its client would try to reconnect, in vain.
    await clients[victimIndex]!.close();
    const { aftermath } = await victim.kill();
    expect((await aftermath).orphans).toEqual([]);
    const reader = clients[(victimIndex + 1) % clients.length]!;

    await statsWithin(reader, (s) => (s.states.finished ?? 0) === TASKS, 120_000);
    const parsed = parseExecLog(readFileSync(log, 'utf8'));
    expect(parsed.torn + parsed.unmatchedEnds).toBe(0);
    // The kill cut runs short: their slots are retried elsewhere.
    const heldAtKill = [...parsed.byCid.values()].flat().filter((ex) => ex.killedAt !== null).length;
    expect(heldAtKill).toBeGreaterThan(0);
    const lateness: number[] = [];
    let retries = 0;
    for (const task of tasks) {
      const view = await reader.get(task.id);
      expect(view, task.id).toMatchObject({ state: 'finished', reason: 'exhausted', occurrences: SLOTS });
      const runs: Execution[] = parsed.byCid.get(cidOf(view))!;
      // Executions of one occurrence: its first, then one more per kill that cut the one before.
      // (A run claimed and cut before its handler began has no line: its try shows as a gap.)
      const occurrences: Execution[][] = [];
      runs.forEach((r, i) => {
        const prev = runs[i - 1];
        if (prev === undefined || prev.killedAt === null) occurrences.push([r]);
        else {
          expect(r.attempt, `${cidOf(view)} execution ${i}`).toBeGreaterThan(prev.attempt);
          occurrences.at(-1)!.push(r);
          retries++;
        }
        // One at a time: each began after the previous ended, or after the killed one was gone.
        if (prev !== undefined) expect(prev.endAt ?? prev.goneAt ?? Infinity, `${cidOf(view)} execution ${i}`).toBeLessThan(r.startAt);
      });
      expect(occurrences).toHaveLength(SLOTS);
      occurrences.forEach((group, k) => {
        // Never before its slot (a slot run twice would push a later occurrence ahead of its own slot).
        expect(group[0]!.startMs!, `${cidOf(view)} occurrence ${k}`).toBeGreaterThanOrEqual(start + k * 1000);
        lateness.push(group[0]!.startMs! - (start + k * 1000));
        // Its last execution returned: the slot's one finished run.
        expect(group.at(-1)!.endAt, `${cidOf(view)} occurrence ${k}`).not.toBeNull();
        expect(group.at(-1)!.killedAt, `${cidOf(view)} occurrence ${k}`).toBeNull();
      });
      // The store agrees: one finished run per slot; every other run is lost, one per cut execution
      // or try without a line.
      const stored = await reader.runs(task.id);
      expect(stored.filter((r) => r.state === 'finished')).toHaveLength(SLOTS);
      const unlogged = occurrences.reduce((n, group) => n + group.at(-1)!.attempt - group.length, 0);
      expect(stored.filter((r) => r.state !== 'finished').map((r) => r.state)).toEqual(Array.from({ length: runs.length - SLOTS + unlogged }, () => 'lost'));
    }
    lateness.sort((a, b) => a - b);
    // Who ran them, for the summary (a processes-mode runtime's handlers log its workers' pids).
    const pidsOf = cluster.runtimes.map((rt, i) => (i === victimIndex ? victimPids : rt.markedPids()));
    const executions = [...parsed.byCid.values()].flat();
    const perRuntime = pidsOf.map((pids) => executions.filter((ex) => pids.includes(ex.pid)).length);
    const figures = {
      tasks: TASKS, slots: SLOTS, runs: lateness.length, killed: `${victimIndex}(${modes[victimIndex]})`, heldAtKill, retriedAfterKill: retries, perRuntime: perRuntime.join('/'),
      latenessP50Ms: percentile(lateness, 0.5), latenessP99Ms: percentile(lateness, 0.99), latenessMaxMs: lateness.at(-1)!,
    };
    console.log(`[chaos] P4: ${Object.entries(figures).map(([k, n]) => `${k}=${n}`).join(' ')}`);
  });
});
