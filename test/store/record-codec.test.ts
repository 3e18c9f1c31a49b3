import { describe, expect, it } from 'vitest';
import { decodeHistory, decodeRun, decodeTask, encodeHistory, encodeRun, encodeTask } from '../../src/store/record-codec.js';
import type { RunRecord, TaskRecord } from '../../src/task/record.js';

const run: RunRecord = {
  v: 1, taskId: 'abc', run: 3, attempt: 2, state: 'failed', startedAt: 1_800_000_000_000, endedAt: 1_800_000_000_500,
  durationMs: 500, worker: 'thread-1', output: null, error: { code: 'HANDLER_ERROR', message: 'boom' }, progress: 0.5,
};

const full: TaskRecord = {
  v: 1, id: 'abc', type: 'fetch', params: { url: 'https://example.com', deep: [1, { x: null }] }, state: 'queued', reason: null,
  schedule: { every: '1h', start: '2027-01-01T00:00:00.000Z' }, recurring: true, priority: -3, maxTries: 5, timeoutMs: 30_000,
  misfire: 'skip', graceMs: 2000, tries: 2, runCount: 3, occurrences: 2, firedAt: 1_800_000_000_000, interval: 3_600_000,
  nextRunAt: 1_800_000_003_600, paused: true, key: 'k-1', createdAt: 1, updatedAt: 2, endedAt: null, expiresAt: null,
  lastRun: run, history: [{ from: 'none', to: 'spooled', event: 'submit', at: 1, reason: null }, { from: 'running', to: 'queued', event: 'fail', at: 2, reason: 'error' }],
  historyChunks: 4,
};

const bare: TaskRecord = {
  ...full, params: {}, schedule: null, recurring: false, firedAt: null, interval: null, nextRunAt: null, paused: false, key: null,
  state: 'finished', reason: 'exhausted', endedAt: 3, expiresAt: 4, lastRun: { ...run, state: 'finished', output: '{"a":"b\\n"}', error: null, progress: null }, history: [], historyChunks: 0,
};

describe('the record codec', () => {
  it.each([['every field set', full], ['nulls and empties', bare]])('round-trips a task record with %s, every field kept', (_, rec) => {
    const back = decodeTask(encodeTask(rec));
    expect(back).toEqual(rec);
    expect(Object.keys(back).sort()).toEqual(Object.keys(rec).sort());
  });

  it('round-trips run records and history chunks', () => {
    expect(decodeRun(encodeRun(run))).toEqual(run);
    expect(decodeHistory(encodeHistory(full.history))).toEqual(full.history);
  });

  it('stores a record in about half the bytes of its keyed JSON', () => {
    expect(encodeTask(full).length).toBeLessThan(JSON.stringify(full).length * 0.6);
  });
});
