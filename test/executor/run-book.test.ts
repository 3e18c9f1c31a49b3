import { describe, expect, it } from 'vitest';
import type { RunOutcome, RunRequest } from '../../src/executor/executor.js';
import { type BookedRun, bookedRun, RunBook, type RunBookHooks } from '../../src/executor/run-book.js';

interface TestRun extends BookedRun {
  outcomes: RunOutcome[];
  releases: number;
  interruptions: number;
  /** Set when the test's dispatch hook sends the run. */
  sent: boolean;
}

function booked(runId: string, timeoutMs = 60_000): TestRun {
  const request: RunRequest = { runId, taskId: 't', type: 'noop', modulePath: '/x.mjs', params: {}, attempt: 1, timeoutMs };
  const run: TestRun = {
    ...bookedRun(request, {
      onProgress: () => undefined,
      onOutcome: (o: RunOutcome) => run.outcomes.push(o),
      onReleased: () => { run.releases++; },
      onInterrupted: () => { run.interruptions++; },
    }),
    outcomes: [], releases: 0, interruptions: 0, sent: false,
  };
  return run;
}

/** Hooks of a worker with `room` slots that sends whatever fits; each test overrides what it watches. */
function hooks(overrides: Partial<RunBookHooks<TestRun>> = {}, room = { slots: Infinity }): RunBookHooks<TestRun> {
  return {
    owner: 'Test', killGraceMs: 60_000,
    workerName: () => 'w',
    dispatch: (waiting) => {
      for (const run of waiting.splice(0, room.slots)) {
        run.sent = true;
        room.slots--;
      }
    },
    signal: () => undefined,
    kill: () => true,
    released: (run) => {
      if (run.sent) room.slots++;
    },
    ...overrides,
  };
}

/** Resolves after the microtasks queued so far, and the book's dispatch with them, have run. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('RunBook', () => {
  it('refuses a duplicate id and an out-of-range timeout as programming errors', () => {
    const book = new RunBook<TestRun>(hooks());
    book.add(booked('a'));
    expect(() => book.add(booked('a'))).toThrow('Test: run a is already in flight');
    expect(() => book.add(booked('b', 0))).toThrow(RangeError);
    expect(book.size).toBe(1);
  });

  it('times a run out once, releases it once, and resolves a drain when the last run is released', async () => {
    const released: string[] = [];
    let timedOut!: () => void;
    const timeout = new Promise<void>((resolve) => { timedOut = resolve; });
    const book = new RunBook<TestRun>(hooks({
      workerName: () => 'w1',
      signal: () => timedOut(),
      released: (run) => released.push(run.request.runId),
    }));
    const run = booked('a', 20);
    book.add(run);
    const drained = book.drain(60_000);
    await timeout;
    expect(run.outcomes).toMatchObject([{ ok: false, error: { code: 'TIMEOUT' }, worker: 'w1' }]);
    book.release(run);
    book.release(run);
    await drained;
    expect({ released, releases: run.releases, size: book.size }).toEqual({ released: ['a'], releases: 1, size: 0 });
  });

  it('times a run out no earlier than its timeout after it was sent, to the fraction of a ms', async () => {
    // Node's timers count whole ms from a clock read in whole ms: one could fire up to a ms early.
    const ran: number[] = [];
    let left = 40;
    let allTimedOut!: () => void;
    const done = new Promise<void>((resolve) => { allTimedOut = resolve; });
    const book = new RunBook<TestRun>(hooks({
      signal: (run) => {
        ran.push(performance.now() - run.startedAt);
        if (--left === 0) allTimedOut();
      },
    }));
    for (let i = 0; i < 40; i++) {
      book.add(booked(`a${i}`, 3));
      // Sent at different fractions of a ms.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await done;
    expect(Math.min(...ran)).toBeGreaterThanOrEqual(3);
  });

  it('judges an expired timeout only after the next I/O poll: a result handled in the same turn wins (issue 14 #8)', async () => {
    const timedOut: string[] = [];
    const book = new RunBook<TestRun>(hooks({ signal: (run) => timedOut.push(run.request.runId) }));
    const run = booked('a', 20);
    book.add(run);
    // Due in the same timers phase as the timeout, after it: as a result read late after a stall.
    await new Promise<void>((resolve) => setTimeout(() => {
      book.report(run, { ok: true, output: '1' });
      book.release(run);
      resolve();
    }, 20));
    // The deferred verdict was queued before this immediate, so it has run when this resolves.
    await new Promise((resolve) => setImmediate(resolve));
    expect(timedOut).toEqual([]);
    expect(run.outcomes).toMatchObject([{ ok: true, output: '1' }]);
  });

  it('offers the runs added in one turn together, and the waiting ones again when a slot is released', async () => {
    const dispatched: string[][] = [];
    const room = { slots: 2 };
    const base = hooks({}, room);
    const book = new RunBook<TestRun>({
      ...base,
      dispatch: (waiting) => {
        const before = waiting.map((r) => r.request.runId);
        base.dispatch(waiting);
        dispatched.push(before.slice(0, before.length - waiting.length));
      },
    });
    const [a, b, c] = [booked('a'), booked('b'), booked('c')];
    for (const run of [a, b, c]) book.add(run);
    await nextTurn();
    expect(dispatched).toEqual([['a', 'b']]);
    book.report(a!, { ok: true, output: undefined });
    book.release(a!);
    expect(dispatched).toEqual([['a', 'b'], ['c']]);
    expect({ sent: c!.sent, size: book.size, releases: a!.releases }).toEqual({ sent: true, size: 2, releases: 1 });
  });

  it('aborts a run once: CANCELLED, its worker told, then killed with the reason when the kill grace runs out', async () => {
    const signalled: (string | null)[] = [];
    let killed!: (why: string) => void;
    const kill = new Promise<string>((resolve) => { killed = resolve; });
    const book = new RunBook<TestRun>(hooks({
      killGraceMs: 30,
      signal: (run) => signalled.push(run.abortedBy),
      kill: (_run, why) => {
        killed(why);
        return true;
      },
    }));
    const run = booked('a');
    book.add(run);
    await nextTurn();
    book.abort('a', 'cancel');
    book.abort('a', 'cancel');
    book.abort('unknown', 'cancel');
    expect(await kill).toBe('run a was aborted and its handler ignored the signal for 30ms');
    expect(signalled).toEqual(['cancel']);
    expect(run.outcomes).toMatchObject([{ ok: false, error: { code: 'CANCELLED', message: 'the run was cancelled' } }]);
    // The worker's late reply changes nothing: the outcome was reported once, at the abort.
    book.settled(run, { ok: true, output: '1' });
    book.release(run);
    expect({ outcomes: run.outcomes.length, releases: run.releases, interruptions: run.interruptions }).toEqual({ outcomes: 1, releases: 1, interruptions: 0 });
  });

  it('kills the worker of a timed-out run that ignores its signal, naming the timeout', async () => {
    let killed!: (why: string) => void;
    const kill = new Promise<string>((resolve) => { killed = resolve; });
    const book = new RunBook<TestRun>(hooks({
      killGraceMs: 20,
      kill: (_run, why) => {
        killed(why);
        return true;
      },
    }));
    const run = booked('a', 20);
    book.add(run);
    expect(await kill).toMatch(/^run a timed out and its handler ignored the signal for /);
    expect(run.outcomes).toMatchObject([{ ok: false, error: { code: 'TIMEOUT' } }]);
  });

  it('sends a run handed over in this turn before aborting it, so its worker gets the abort', () => {
    const signalled: boolean[] = [];
    const book = new RunBook<TestRun>(hooks({ signal: (run) => signalled.push(run.sent) }));
    const run = booked('a');
    book.add(run);
    book.abort('a', 'cancel');
    expect(signalled).toEqual([true]);
    expect(run.releases).toBe(0);
  });

  it('releases an aborted run still waiting for a slot at once, without telling any worker', async () => {
    const signalled: string[] = [];
    const book = new RunBook<TestRun>(hooks({ signal: (run) => signalled.push(run.request.runId) }, { slots: 0 }));
    const run = booked('a');
    book.add(run);
    await nextTurn();
    book.abort('a', 'cancel');
    expect({ outcomes: run.outcomes.length, releases: run.releases, interruptions: run.interruptions, size: book.size, signalled }).toEqual({ outcomes: 1, releases: 1, interruptions: 0, size: 0, signalled: [] });
  });

  it('an aborted run sent but not yet on a worker (a pool queue) gets its abort once placed, with a new kill grace if the first ran out', async () => {
    // The executor's own queue, as piscina's while a thread is replaced: sent, on no worker yet.
    let onWorker = false;
    const signalled: boolean[] = [];
    const kills: boolean[] = [];
    let killDue!: () => void;
    let killedOnWorker!: () => void;
    const due = new Promise<void>((resolve) => { killDue = resolve; });
    const killedThere = new Promise<void>((resolve) => { killedOnWorker = resolve; });
    const book = new RunBook<TestRun>(hooks({
      killGraceMs: 20,
      signal: () => signalled.push(onWorker),
      kill: () => {
        kills.push(onWorker);
        if (!onWorker) {
          killDue();
          return false;
        }
        killedOnWorker();
        return true;
      },
    }));
    const run = booked('a');
    book.add(run);
    await nextTurn();
    expect(run.sent).toBe(true);
    book.abort('a', 'cancel');
    await due;
    expect({ killDue: run.killDue, releases: run.releases }).toEqual({ killDue: true, releases: 0 });
    onWorker = true;
    book.placed(run);
    await killedThere;
    expect({ signalled, kills, killDue: run.killDue, outcomes: run.outcomes.length }).toEqual({ signalled: [false, true], kills: [false, true], killDue: false, outcomes: 1 });
  });

  it('closes once: aborts every run, drops those waiting, waits out the grace, stops the workers, releases the rest', async () => {
    const room = { slots: 1 };
    const steps: string[] = [];
    const book = new RunBook<TestRun>(hooks({
      released: (run) => {
        steps.push(`released ${run.request.runId}`);
        if (run.sent) room.slots++;
      },
    }, room));
    const [sent, waiting] = [booked('sent'), booked('waiting')];
    book.add(sent);
    book.add(waiting);
    await nextTurn();
    const stopWorkers = async (): Promise<void> => { steps.push('stop workers'); };
    const closed = book.close(30, stopWorkers);
    expect(book.close(0, stopWorkers)).toBe(closed);
    expect(book.closed).toBe(true);
    // A run the shutdown found waiting never started: interrupted and released at once, not sent to the freed slot.
    expect(waiting).toMatchObject({ releases: 1, interruptions: 1, sent: false });
    await closed;
    expect(steps).toEqual(['released waiting', 'stop workers', 'released sent']);
    for (const run of [sent, waiting]) expect(run.outcomes).toMatchObject([{ ok: false, error: { code: 'CANCELLED', message: 'the run was stopped by a shutdown' } }]);
    expect({ releases: sent.releases, interruptions: sent.interruptions, size: book.size }).toEqual({ releases: 1, interruptions: 0, size: 0 });

    const late = booked('late');
    book.add(late);
    expect(book.size).toBe(0);
    await nextTurn();
    expect(late.outcomes).toMatchObject([{ ok: false, error: { code: 'CANCELLED', message: 'the executor is closed; the run was not started' } }]);
    expect(late.releases).toBe(1);
  });

  it('reports a run that settles on its shutdown signal within the grace as interrupted, and stops waiting for it', async () => {
    const book = new RunBook<TestRun>(hooks());
    const run = booked('a');
    book.add(run);
    await nextTurn();
    let stopped = false;
    const closed = book.close(600_000, async () => { stopped = true; });
    book.settled(run, { ok: false, error: { code: 'CANCELLED', message: 'aborted' } });
    book.release(run);
    await closed;
    expect({ stopped, interruptions: run.interruptions, releases: run.releases, outcomes: run.outcomes.length }).toEqual({ stopped: true, interruptions: 1, releases: 1, outcomes: 1 });
  });
});
