import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type Execution, parseExecLog } from '../helpers/exec-log.js';
import { cidOf, openExecutionsOf, PgCluster, statsWithin } from '../helpers/pg-cluster.js';
import { removeTempDirs } from '../helpers/temp.js';

let cluster: PgCluster | undefined;
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') cluster?.printTails();
  await cluster?.close();
  cluster = undefined;
  removeTempDirs();
});

const TASKS = 6;
const SLOTS = 60;
const LEASE_MS = 3000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

describe('P4: cron every second for a minute across 4 real runtimes on one PostgreSQL database, one of them killed -9 midway', () => {
  it('each slot runs exactly once (a run lost with its runtime is retried within its slot), never before its time, and runs of a task never overlap', async () => {
    cluster = await PgCluster.create({ modes: ['threads', 'threads', 'processes', 'threads'], leaseMs: LEASE_MS, workers: 1, runsPerWorker: 8 });
    await cluster.start();
    const log = cluster.log;
    // Clients of the survivors only: one of the killed runtime would try to reconnect, in vain.
    const clients = [await cluster.client(1), await cluster.client(2), await cluster.client(3)];
    const start = Math.ceil(Date.now() / 1000) * 1000 + 3000;
    const tasks = await Promise.all(Array.from({ length: TASKS }, (_, i) => clients[i % 3]!.submit({
      type: 'chaos-work', params: { cid: `tick${i}`, log, ms: 300 },
      // Every slot runs, late if it must (after the kill): so each of the 60 can be counted.
      schedule: { cron: '* * * * * *', start: new Date(start).toISOString(), count: SLOTS }, misfire: 'all',
    })));

    // Midway, kill -9 runtime 0, preferably while one of its handlers runs.
    const victim = cluster.runtimes[0]!;
    while (Date.now() < start + (SLOTS / 2) * 1000) await sleep(100);
    const waitUntil = Date.now() + 5000;
    while (openExecutionsOf(log, [victim.pid]).length === 0 && Date.now() < waitUntil) await sleep(10);
    const heldAtKill = openExecutionsOf(log, [victim.pid]).length;
    const victimPid = victim.pid;
    const { aftermath } = await victim.kill();
    expect((await aftermath).orphans).toEqual([]);

    await statsWithin(clients[0]!, (s) => (s.states.finished ?? 0) === TASKS, 120_000);
    const parsed = parseExecLog(readFileSync(log, 'utf8'));
    expect(parsed.torn + parsed.unmatchedEnds).toBe(0);
    const lateness: number[] = [];
    let retries = 0;
    for (const task of tasks) {
      const view = await clients[1]!.get(task.id);
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
      const stored = await clients[1]!.runs(task.id);
      expect(stored.filter((r) => r.state === 'finished')).toHaveLength(SLOTS);
      const unlogged = occurrences.reduce((n, group) => n + group.at(-1)!.attempt - group.length, 0);
      expect(stored.filter((r) => r.state !== 'finished').map((r) => r.state)).toEqual(Array.from({ length: runs.length - SLOTS + unlogged }, () => 'lost'));
    }
    lateness.sort((a, b) => a - b);
    // Who ran them (a processes-mode runtime's handlers log its workers' pids).
    const pidsOf = cluster.runtimes.map((rt, i) => (i === 0 ? [victimPid] : rt.markedPids()));
    const executions = [...parsed.byCid.values()].flat();
    const perRuntime = pidsOf.map((pids) => executions.filter((ex) => pids.includes(ex.pid)).length);
    expect(perRuntime.reduce((a, b) => a + b, 0)).toBe(executions.length);
    const figures = {
      tasks: TASKS, slots: SLOTS, runs: lateness.length, heldAtKill, retriedAfterKill: retries, perRuntime: perRuntime.join('/'),
      latenessP50Ms: percentile(lateness, 0.5), latenessP99Ms: percentile(lateness, 0.99), latenessMaxMs: lateness.at(-1)!,
    };
    console.log(`[chaos] P4: ${Object.entries(figures).map(([k, n]) => `${k}=${n}`).join(' ')}`);
  });
});
