import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readStore } from '../helpers/chaos-runtime.js';
import { Checker } from '../helpers/checker.js';
import { appendPause, type Execution, parseExecLog } from '../helpers/exec-log.js';
import { chaosTasks, cidOf, clusterBed, openExecutionsOf, statsWithin, submitAll } from '../helpers/pg-cluster.js';

const bed = clusterBed();

const LEASE_MS = 3000;
/**
 * Every first try takes at least this long wherever it runs, so the others cannot drain a wave
 * before the victim claims its share (8 slots each: a wave of 24 leaves it at least 8); a retry
 * takes no time.
 */
const RUN_MS = 1000;
/** An `s` task's first try: one timer, which runs out while the victim is stopped. */
const S_MS = 5000;
/** A resumed runtime must have stopped every run it had within this (its fence check runs every lease / 20; slack for a loaded machine). */
const STOPPED_WITHIN_MS = LEASE_MS + 5000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('P3: SIGSTOP of a real runtime past its lease, then SIGCONT (threads mode: its workers stop with it)', () => {
  it('its runs finish elsewhere; once resumed, its handlers are aborted or their late results refused (each run recorded lost), and the task ends once, by the run that took over', async () => {
    const cluster = await bed.start({ modes: ['threads', 'threads', 'threads'], leaseMs: LEASE_MS, workers: 1, runsPerWorker: 8 });
    // Only runtime 0 holds: elsewhere the same tasks end after their first RUN_MS (a retry at once).
    await cluster.start((i) => (i === 0 ? { SPINDLE_CHAOS_HOLD: '1' } : {}));
    const [victim] = cluster.runtimes;
    const client = await cluster.client(1);
    const checker = new Checker();
    const log = cluster.log;
    // Waves of two kinds, interleaved, until the victim holds some of each: `u` held until aborted,
    // `s` whose first try waits S_MS, long enough to be running at the stop, short enough that its
    // timer runs out during it (a stopped process's timers keep counting: the monotonic clock does).
    let held: Execution[] = [];
    for (let wave = 0; ; wave++) {
      const u = chaosTasks(`u${wave}-`, 12, log, { hold: true, ms: RUN_MS, retryMs: 0 });
      const s = chaosTasks(`s${wave}-`, 12, log, { ms: S_MS, retryMs: 0 });
      await submitAll(client, checker, u.flatMap((t, i) => [t, s[i]!]));
      await sleep(500);
      held = openExecutionsOf(log, [victim!.pid]);
      const fresh = held.filter((ex) => ex.cid.startsWith('s') && Date.now() - ex.startMs! < S_MS / 2);
      if (held.some((ex) => ex.cid.startsWith('u')) && fresh.length > 0) break;
      if (wave === 20) throw new Error('runtime 0 never held both kinds of task');
    }
    const pid = victim!.pid;
    process.kill(pid, 'SIGSTOP');
    appendPause(log, 'stop', [pid]);
    const stoppedAt = Date.now();
    held = openExecutionsOf(log, [pid]);
    const total = checker.batches.reduce((n, b) => n + b.cids.length, 0);
    // Past its lease: the others take its runs over and finish every task; and every `s` timer it
    // had has run out (due the moment it runs again).
    await statsWithin(client, (st) => (st.states.finished ?? 0) === total, 120_000);
    while (Date.now() < Math.max(...held.map((ex) => ex.startMs! + (ex.cid.startsWith('s') ? S_MS : 0))) + 200) await sleep(100);
    const stoppedMs = Date.now() - stoppedAt;
    appendPause(log, 'cont', [pid]);
    const contAt = Date.now();
    process.kill(pid, 'SIGCONT');
    // Everything it had running ends (returns late, or is aborted by its fence) soon after.
    while (openExecutionsOf(log, [pid]).length > 0) {
      if (Date.now() - contAt > 60_000) throw new Error('the resumed runtime\'s handlers never stopped');
      await sleep(50);
    }
    // It renews again and claims again: a no-op submitted now can go anywhere, and all finish.
    await submitAll(client, checker, chaosTasks('after-', 30, log));
    await statsWithin(client, (st) => (st.states.finished ?? 0) === total + 30, 60_000);

    const text = readFileSync(log, 'utf8');
    const parsed = parseExecLog(text);
    const stop = parsed.marks.find((m) => m.event === 'stop')!;
    const cont = parsed.marks.find((m) => m.event === 'cont')!;
    const store = await readStore(client);
    const byCid = new Map(store.map((t) => [cidOf(t), t]));
    expect(store.every((t) => t.state === 'finished')).toBe(true);
    const late: number[] = [];
    let returnedLate = 0;
    let aborted = 0;
    let takenOver = 0;
    for (const ex of held) {
      const mine = parsed.byCid.get(ex.cid)!.find((r) => r.pid === pid && r.attempt === ex.attempt)!;
      // Nothing of it ran while it was stopped; once resumed it ended, within the bound.
      expect(mine.endAt, ex.cid).toBeGreaterThan(cont.at);
      late.push(mine.endMs! - contAt);
      if (mine.aborted) aborted++;
      else returnedLate++;
      // A `u` task's hold never runs out: only its fence can have ended it.
      if (ex.cid.startsWith('u')) expect(mine.aborted, ex.cid).toBe(true);
    }
    expect(Math.max(...late)).toBeLessThanOrEqual(STOPPED_WITHIN_MS);
    // Its `s` handlers' timers are due when it resumes, before its fence's abort can reach them
    // (a worker runs its due timers before it reads its messages): they return, late.
    expect(returnedLate).toBeGreaterThan(0);
    for (const [cid, runs] of parsed.byCid) {
      const task = byCid.get(cid)!;
      if (runs.length === 1) {
        // Run once, to its end (a run the victim had claimed but not begun is a lost try with no line).
        expect([runs[0]!.endAt !== null, runs[0]!.aborted], cid).toEqual([true, false]);
        expect(task.tries, cid).toBe(runs[0]!.attempt);
        continue;
      }
      // Taken over: once by the stopped runtime, once by another, wholly while it was stopped.
      takenOver++;
      const [mine, rerun] = [runs.filter((r) => r.pid === pid), runs.filter((r) => r.pid !== pid)];
      expect([mine.length, rerun.length], cid).toEqual([1, 1]);
      expect(mine[0]!.endAt, cid).not.toBeNull();
      expect(rerun[0]!.attempt, cid).toBeGreaterThan(mine[0]!.attempt);
      expect(rerun[0]!.startAt, cid).toBeGreaterThan(stop.at);
      expect(rerun[0]!.endAt, cid).toBeLessThan(cont.at);
      expect(rerun[0]!.aborted, cid).toBe(false);
      // The store refused the late result: its run is lost, the task ended once, by the rerun.
      expect(task.tries, cid).toBe(rerun[0]!.attempt);
      const stored = await client.runs(task.id);
      expect(stored.map((r) => [r.attempt, r.state]), cid).toEqual([[mine[0]!.attempt, 'lost'], [rerun[0]!.attempt, 'finished']]);
      const history = await client.history(task.id);
      expect(history.filter((h) => h.to === 'finished'), cid).toHaveLength(1);
      expect(history.filter((h) => h.from === 'running' && h.to === 'queued'), cid).toHaveLength(1);
    }
    expect(takenOver).toBeGreaterThanOrEqual(held.length);
    expect(victim!.tail).toContain('leases could not be renewed in time');
    expect(victim!.tail).toContain('leases renewed again; claiming resumes');
    const figures = {
      leaseMs: LEASE_MS, tasks: store.length, heldAtStop: held.length, takenOver, stoppedMs, returnedLate, abortedByFence: aborted,
      endedAfterContMinMs: Math.min(...late), endedAfterContMaxMs: Math.max(...late),
    };
    console.log(`[chaos] P3: ${Object.entries(figures).map(([k, n]) => `${k}=${n}`).join(' ')}`);
  });
});
