import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readStore } from '../helpers/chaos-runtime.js';
import { expectClean } from '../helpers/chaos-scenario.js';
import { Checker, summaryLine } from '../helpers/checker.js';
import { parseExecLog } from '../helpers/exec-log.js';
import { chaosTasks, clusterBed, statsWithin, submitAll } from '../helpers/pg-cluster.js';

const bed = clusterBed();

const RUNTIMES = 4;
const EACH = 20_000;
const TOTAL = RUNTIMES * EACH;

describe('P1: 4 runtimes × 20,000 runs on one PostgreSQL database (real `spindle start` processes)', () => {
  it('every one of the 80,000 acknowledged tasks finishes, each executed exactly once, no two executions of a task at once', async () => {
    const cluster = await bed.start({ modes: Array.from({ length: RUNTIMES }, () => 'threads'), leaseMs: 10_000, workers: 1, runsPerWorker: 256 });
    await cluster.start();
    const clients = await Promise.all(cluster.runtimes.map((_, i) => cluster.client(i)));
    const checker = new Checker();
    const log = cluster.log;
    const began = Date.now();
    // Each runtime gets its own 20,000 through its own socket, all four at once, while all four run.
    await Promise.all(clients.map((c, i) => submitAll(c, checker, chaosTasks(`r${i}-`, EACH, log), 1000)));
    const submittedMs = Date.now() - began;
    await statsWithin(clients[0]!, (s) => (s.states.finished ?? 0) === TOTAL, 480_000);
    const drainMs = Date.now() - began;

    const store = await readStore(clients[1]!);
    const text = readFileSync(log, 'utf8');
    const v = checker.check(store, text);
    expectClean(v, null);
    expect(store).toHaveLength(TOTAL);
    expect(v.acknowledged).toBe(TOTAL);
    // Nothing crashed: exactly once, not merely at least once.
    expect(v.executions).toBe(TOTAL);
    expect(v.reruns + v.rerunsAfterUnrecordedEnd.length + v.interrupted).toBe(0);
    const parsed = parseExecLog(text);
    expect(parsed.byCid.size).toBe(TOTAL);
    expect([...parsed.byCid.values()].filter((runs) => runs.length !== 1 || runs[0]!.endAt === null || runs[0]!.aborted)).toEqual([]);
    expect(store.filter((t) => t.runCount !== 1 || t.tries !== 1)).toEqual([]);
    // The work was shared: each runtime (a threads-mode runtime logs its own pid) ran some of it.
    const perRuntime = cluster.runtimes.map((rt) => [...parsed.byCid.values()].filter((runs) => runs[0]!.pid === rt.pid).length);
    expect(perRuntime.reduce((a, b) => a + b, 0)).toBe(TOTAL);
    for (const n of perRuntime) expect(n).toBeGreaterThan(0);
    console.log(summaryLine('P1', null, v, {
      runtimes: RUNTIMES, submittedMs, drainMs, runsPerSec: Math.round(TOTAL / (drainMs / 1000)), perRuntime: perRuntime.join('/'),
    }));
  });
});
