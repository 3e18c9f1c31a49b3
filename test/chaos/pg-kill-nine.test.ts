import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readStore } from '../helpers/chaos-runtime.js';
import { expectClean } from '../helpers/chaos-scenario.js';
import { Checker, summaryLine } from '../helpers/checker.js';
import { type Execution, parseExecLog } from '../helpers/exec-log.js';
import { chaosTasks, cidOf, clusterBed, openExecutionsOf, statsWithin, submitAll } from '../helpers/pg-cluster.js';
import { isGone } from '../helpers/processes.js';

const bed = clusterBed();

const LEASE_MS = 3000;
/** The sweep that finds a run's lease ended runs on each runtime's backstop tick, 1–2 s apart. */
const SWEEP_MS = 2000;
/** Generous: a loaded 2-core machine shared with other test runs. */
const SLACK_MS = 10_000;
/** A wave of 3 s runs: fewer than the survivors' slots, so a run taken over need not wait long for one. */
const WAVE = 60;
const HELD_AT_KILL = 8;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('P2: kill -9 of real runtimes sharing one PostgreSQL database while they hold running tasks', () => {
  it('their runs finish elsewhere within lease + sweep, no two executions of a task overlap, nothing is lost, and no worker outlives its runtime', async () => {
    // Two of each mode: a thread dies with its process; a child process must see its runtime gone.
    const modes = ['threads', 'processes', 'threads', 'processes'] as const;
    const cluster = await bed.start({ modes: [...modes], leaseMs: LEASE_MS, workers: 2, runsPerWorker: 16 });
    await cluster.start();
    const live = new Map(await Promise.all(cluster.runtimes.map(async (_, i) => [i, await cluster.client(i)] as const)));
    const checker = new Checker();
    const log = cluster.log;
    const kills: Array<{ victim: number; atMs: number; pids: number[]; held: number }> = [];
    const aftermaths = [];
    let submitted = 0;
    // Kill a threads runtime, then a processes one, each once its handlers have begun several 3 s
    // runs. Which runtime claims a wave is a race: waves are added until one of the mode holds enough.
    for (const mode of ['threads', 'processes'] as const) {
      let victim = -1;
      for (const until = Date.now() + 60_000; victim < 0;) {
        if (Date.now() > until) throw new Error(`no ${mode} runtime held ${HELD_AT_KILL} runs within 60 s`);
        await submitAll([...live.values()][0]!, checker, chaosTasks(`w${submitted}-`, WAVE, log, { ms: 3000 }));
        submitted += WAVE;
        for (const settle = Date.now() + 1000; victim < 0 && Date.now() < settle; await sleep(50)) {
          victim = [...live.keys()].find((i) => modes[i] === mode && openExecutionsOf(log, cluster.runtimes[i]!.markedPids()).length >= HELD_AT_KILL) ?? -1;
        }
      }
      const rt = cluster.runtimes[victim]!;
      // Its client would try to reconnect, in vain.
      await live.get(victim)!.close();
      live.delete(victim);
      const pids = rt.markedPids();
      const held = openExecutionsOf(log, pids).length;
      const atMs = Date.now();
      const { aftermath } = await rt.kill();
      kills.push({ victim, atMs, pids, held });
      aftermaths.push(await aftermath);
      for (const pid of pids) expect(isGone(pid), `pid ${pid} of the killed runtime ${victim}`).toBe(true);
      await statsWithin([...live.values()][0]!, (s) => (s.states.finished ?? 0) === submitted, 120_000);
    }
    expect(aftermaths.map((a) => a.orphans)).toEqual([[], []]);
    const survivor = [...live.values()][0]!;

    const store = await readStore(survivor);
    const text = readFileSync(log, 'utf8');
    const v = checker.check(store, text);
    expectClean(v, null);
    expect(store).toHaveLength(submitted);
    const parsed = parseExecLog(text);
    const byCid = new Map(store.map((t) => [cidOf(t), t]));
    const takeOvers: number[] = [];
    const released: number[] = [];
    for (const k of kills) {
      // What the victim's handlers were running when it died: each must run again elsewhere.
      const cut = [...parsed.byCid.values()].flatMap((runs) => runs.flatMap((ex, i) => (k.pids.includes(ex.pid) && ex.endAt === null ? [{ ex, next: runs[i + 1] }] : [])));
      expect(cut.length).toBeGreaterThanOrEqual(k.held);
      for (const { ex, next } of cut) {
        expect(next, `${ex.cid}: cut by the kill of runtime ${k.victim}, never run again`).toBeDefined();
        expect(ex.killedAt, ex.cid).not.toBeNull();
        takeOvers.push(startMs(next!) - k.atMs);
        // Recorded as what it was: a lost try, then the next try on another runtime.
        const runs = await survivor.runs(byCid.get(ex.cid)!.id);
        expect(runs.at(-1)!.state, ex.cid).toBe('finished');
        expect(runs.slice(0, -1).every((r) => r.state === 'lost'), ex.cid).toBe(true);
        const lost = runs.find((r) => r.attempt === ex.attempt)!;
        expect(lost.state, ex.cid).toBe('lost');
        // Recorded lost by a survivor's sweep once the lease ran out (database time, this machine's clock).
        released.push(Date.parse(lost.endedAt!) - k.atMs);
      }
    }
    // Within the lease (the victim renewed it at most a lease ago) plus a sweep, with slack.
    const bound = LEASE_MS + SWEEP_MS + SLACK_MS;
    expect(Math.max(...released)).toBeLessThanOrEqual(bound);
    expect(Math.max(...takeOvers)).toBeLessThanOrEqual(bound);
    expect(v.interrupted).toBe(takeOvers.length);
    console.log(summaryLine('P2', null, v, {
      leaseMs: LEASE_MS, killed: kills.map((k) => `${k.victim}(${modes[k.victim]})`).join('/'), heldAtKills: kills.map((k) => k.held).join('/'), takenOver: takeOvers.length,
      releasedMinMs: Math.min(...released), releasedMaxMs: Math.max(...released),
      takeOverMinMs: Math.min(...takeOvers), takeOverMaxMs: Math.max(...takeOvers), boundMs: bound,
      workersGoneMs: aftermaths.map((a) => a.goneMs).join('/'),
    }));
  });
});

function startMs(ex: Execution): number {
  if (ex.startMs === null) throw new Error(`${ex.cid}: a start line without its time`);
  return ex.startMs;
}
