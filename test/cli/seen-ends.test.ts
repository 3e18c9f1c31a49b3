import { describe, expect, it } from 'vitest';
import type { TaskState } from '../../src/api/states.js';
import type { ClientEvent } from '../../src/client/event-stream.js';
import { SeenEnds } from '../../src/cli/seen-ends.js';

const AT = '2026-12-07T01:00:00.000Z';
const state = (id: string, from: TaskState, to: TaskState, at = AT): ClientEvent => ({ event: 'task.state', data: { id, type: 't', from, to, reason: null, at } });
const ended = (id: string, run: number, runState = 'finished'): ClientEvent => ({
  event: 'run.ended', data: { id, type: 't', attempt: run, run, state: runState, startedAt: AT, endedAt: AT, durationMs: 1, worker: null },
});

describe('SeenEnds (spindle watch prints each end once)', () => {
  it('passes an end the first time and drops it after; other events always pass', () => {
    const ends = new SeenEnds();
    expect(ends.first(state('a', 'running', 'finished'))).toBe(true);
    expect(ends.first(state('a', 'running', 'finished'))).toBe(false);
    expect(ends.first(ended('a', 1))).toBe(true);
    expect(ends.first(ended('a', 1))).toBe(false);
    // Not ends: a move between open states, a start, progress.
    for (let i = 0; i < 2; i++) {
      expect(ends.first(state('a', 'queued', 'running'))).toBe(true);
      expect(ends.first({ event: 'run.started', data: { id: 'a', type: 't', attempt: 1, run: 1, startedAt: AT } })).toBe(true);
      expect(ends.first({ event: 'run.progress', data: { id: 'a', type: 't', attempt: 1, run: 1, progress: 0.5 } })).toBe(true);
    }
  });

  it('tells ends apart by task, run and outcome, and a task that ends again later by its instant', () => {
    const ends = new SeenEnds();
    expect(ends.first(ended('a', 1))).toBe(true);
    expect(ends.first(ended('a', 2))).toBe(true);
    expect(ends.first(ended('b', 1))).toBe(true);
    expect(ends.first(state('a', 'running', 'failed'))).toBe(true);
    // Retried and failed again: a new end.
    expect(ends.first(state('a', 'running', 'failed', '2026-12-07T01:00:05.000Z'))).toBe(true);
    expect(ends.first(state('b', 'running', 'failed'))).toBe(true);
  });

  it('keeps at most the last `kept` ends: the oldest are forgotten first', () => {
    const ends = new SeenEnds(3);
    for (const id of ['a', 'b', 'c', 'd']) expect(ends.first(ended(id, 1))).toBe(true);
    // `a` was forgotten when `d` came; b, c and d are still known.
    expect(ends.first(ended('d', 1))).toBe(false);
    expect(ends.first(ended('c', 1))).toBe(false);
    expect(ends.first(ended('b', 1))).toBe(false);
    expect(ends.first(ended('a', 1))).toBe(true);
    // And remembering `a` again pushed out `b`.
    expect(ends.first(ended('b', 1))).toBe(true);
  });
});
