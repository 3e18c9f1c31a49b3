import { describe, expect, it } from 'vitest';
import type { RunOutcome, RunRequest } from '../../src/executor/executor.js';
import { type BookedRun, RunBook } from '../../src/executor/run-book.js';

function booked(runId: string, timeoutMs = 60_000): BookedRun & { outcomes: RunOutcome[]; releases: number } {
  const request: RunRequest = { runId, taskId: 't', type: 'noop', modulePath: '/x.mjs', params: {}, attempt: 1, timeoutMs };
  const run = {
    request, startedAt: performance.now(), timer: null, abortedBy: null, progress: null, reported: false, outcomes: [] as RunOutcome[], releases: 0,
    listener: { onProgress: () => undefined, onOutcome: (o: RunOutcome) => run.outcomes.push(o), onReleased: () => { run.releases++; } },
  };
  return run;
}

describe('RunBook', () => {
  it('refuses a duplicate id and an out-of-range timeout as programming errors', () => {
    const book = new RunBook<BookedRun>({ owner: 'Test', workerName: () => 'w', timedOut: () => undefined, released: () => undefined });
    book.add(booked('a'));
    expect(() => book.add(booked('a'))).toThrow('Test: run a is already in flight');
    expect(() => book.add(booked('b', 0))).toThrow(RangeError);
    expect(book.size).toBe(1);
  });

  it('times a run out once, releases it once, and resolves a drain when the last run is released', async () => {
    const released: string[] = [];
    let timedOut!: () => void;
    const timeout = new Promise<void>((resolve) => { timedOut = resolve; });
    const book = new RunBook<BookedRun>({
      owner: 'Test', workerName: () => 'w1',
      timedOut: (run, error) => {
        book.report(run, { ok: false, error });
        timedOut();
      },
      released: (run) => released.push(run.request.runId),
    });
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

  it('judges an expired timeout only after the next I/O poll: a result handled in the same turn wins (issue 14 #8)', async () => {
    const timedOut: string[] = [];
    const book = new RunBook<BookedRun>({ owner: 'Test', workerName: () => 'w', timedOut: (run) => timedOut.push(run.request.runId), released: () => undefined });
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
});
