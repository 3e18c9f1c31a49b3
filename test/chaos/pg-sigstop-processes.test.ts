import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readStore } from '../helpers/chaos-runtime.js';
import { Checker } from '../helpers/checker.js';
import { appendGone, appendPause, type Execution, parseExecLog } from '../helpers/exec-log.js';
import { chaosTasks, cidOf, clusterBed, openExecutionsOf, statsWithin, submitAll } from '../helpers/pg-cluster.js';

const bed = clusterBed();

const LEASE_MS = 3000;
/** Every first try takes at least this long wherever it runs, so the others cannot drain a wave before the victim claims its share. */
const RUN_MS = 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('P3b: SIGSTOP of a real runtime in processes mode (its worker processes keep running)', () => {
  it('its children kill their handlers before its lease ends, so no takeover overlaps them; resumed, it finds them gone (their tries lost, its late ends refused) and claims again', async () => {
    const cluster = await bed.start({ modes: ['processes', 'threads', 'threads'], leaseMs: LEASE_MS, workers: 2, runsPerWorker: 4 });
    // Only runtime 0 holds: elsewhere the same tasks end after their first RUN_MS (a retry at once).
    await cluster.start((i) => (i === 0 ? { SPINDLE_CHAOS_HOLD: '1' } : {}));
    const [victim] = cluster.runtimes;
    const pid = victim!.pid;
    const children = (): number[] => victim!.markedPids().filter((p) => p !== pid);
    const client = await cluster.client(1);
    const checker = new Checker();
    const log = cluster.log;
    let held: Execution[] = [];
    for (let wave = 0; held.length === 0; wave++) {
      if (wave === 20) throw new Error('runtime 0 never held a task');
      await submitAll(client, checker, chaosTasks(`u${wave}-`, 24, log, { hold: true, ms: RUN_MS, retryMs: 0 }));
      await sleep(500);
      held = openExecutionsOf(log, children());
    }
    const kids = children();
    process.kill(pid, 'SIGSTOP');
    appendPause(log, 'stop', [pid]);
    const stoppedAt = Date.now();
    held = openExecutionsOf(log, kids);
    // Its children notice the stale heartbeat and kill their groups, handlers and all, on their own.
    while (children().length > 0) {
      if (Date.now() - stoppedAt > 60_000) throw new Error(`the stopped runtime's children never went: ${children().join(' ')}`);
      await sleep(10);
    }
    appendGone(log, kids);
    const goneMs = Date.now() - stoppedAt;
    const total = checker.batches.reduce((n, b) => n + b.cids.length, 0);
    // Past its lease the others take its runs over and finish every task.
    await statsWithin(client, (st) => (st.states.finished ?? 0) === total, 120_000);
    appendPause(log, 'cont', [pid]);
    process.kill(pid, 'SIGCONT');
    // Resumed, it finds its children gone (their FENCED lines were waiting in the pipes), forks new ones, and claims again.
    const fenced = `spindle: FENCED: the runtime (pid ${pid}) has not beaten for`;
    while (!victim!.tail.includes('leases renewed again; claiming resumes') || !victim!.tail.includes(fenced) || children().length < 2) {
      if (Date.now() - stoppedAt > 120_000) throw new Error('the resumed runtime never came back');
      await sleep(50);
    }
    await submitAll(client, checker, chaosTasks('after-', 30, log));
    await statsWithin(client, (st) => (st.states.finished ?? 0) === total + 30, 60_000);

    const parsed = parseExecLog(readFileSync(log, 'utf8'));
    const stop = parsed.marks.find((m) => m.event === 'stop')!;
    const store = await readStore(client);
    const byCid = new Map(store.map((t) => [cidOf(t), t]));
    expect(store.every((t) => t.state === 'finished')).toBe(true);
    expect(held.length).toBeGreaterThan(0);
    for (const ex of held) {
      const runs = parsed.byCid.get(ex.cid)!;
      const mine = runs.find((r) => r.pid === ex.pid && r.attempt === ex.attempt)!;
      // Killed, never returned nor aborted: no end line, and gone by the time the test saw its children gone.
      expect([mine.endAt, mine.goneAt !== null], ex.cid).toEqual([null, true]);
      const reruns = runs.filter((r) => r.startAt > mine.startAt);
      expect(reruns.length, ex.cid).toBeGreaterThan(0);
      for (const rerun of reruns) {
        // No overlap: every later execution began after the stopped runtime's handler was gone.
        expect(rerun.startAt, ex.cid).toBeGreaterThan(mine.goneAt!);
        expect(rerun.startAt, ex.cid).toBeGreaterThan(stop.at);
        expect(kids, ex.cid).not.toContain(rerun.pid);
      }
      // Its try is lost, the task ended once, by the run that took over.
      const task = byCid.get(ex.cid)!;
      const stored = await client.runs(task.id);
      expect(stored.find((r) => r.attempt === mine.attempt)?.state, ex.cid).toBe('lost');
      expect(stored.filter((r) => r.state === 'finished'), ex.cid).toHaveLength(1);
      const history = await client.history(task.id);
      expect(history.filter((h) => h.to === 'finished'), ex.cid).toHaveLength(1);
    }
    // Its children went before its lease could have run out (the last renewal was at most a quarter lease before the stop).
    expect(goneMs).toBeLessThan(LEASE_MS * 0.75);
    const figures = { leaseMs: LEASE_MS, tasks: store.length, heldAtStop: held.length, childrenGoneAfterStopMs: goneMs };
    console.log(`[chaos] P3b: ${Object.entries(figures).map(([k, n]) => `${k}=${n}`).join(' ')}`);
  });
});
