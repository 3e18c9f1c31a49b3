import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeHistory, decodeRun, decodeTask, RecordWriter } from '../../src/store/record-codec.js';
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
  historyChunks: 4, keyExpiresAt: 1_800_000_000_500, keyRetentionMs: 86_400_000,
};

const bare: TaskRecord = {
  ...full, params: {}, schedule: null, recurring: false, firedAt: null, interval: null, nextRunAt: null, paused: false, key: null,
  state: 'finished', reason: 'exhausted', endedAt: 3, expiresAt: 4, lastRun: { ...run, state: 'finished', output: '{"a":"b\\n"}', error: null, progress: null }, history: [], historyChunks: 0, keyExpiresAt: null, keyRetentionMs: null,
};

// The writer's bytes as the store reads them back; each call reuses the writer's buffer.
const writer = new RecordWriter();
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
const encodeTask = (rec: TaskRecord): string => text(writer.task(rec));
const encodeRun = (r: RunRecord): string => text(writer.run(r));
const encodeHistory = (h: TaskRecord['history']): string => text(writer.history(h));

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
    expect(writer.task(full).length).toBeLessThan(Buffer.byteLength(JSON.stringify(full)) * 0.6);
  });

  it('writes every number as JSON.stringify does, at the digit-writing boundaries too', () => {
    const numbers = [0, -0, 7, 9, 10, 99, 100, 101, 99_999_999, 100_000_000, 100_000_001, 2 ** 31 - 1, 2 ** 31, 1_800_000_000_000,
      10_000_000_000_000_000, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, -1, -1_800_000_000_000, 0.5, 1e21, 1e-7, Infinity, NaN];
    for (const n of numbers) {
      const rec = { ...full, id: `n${n}`, priority: n, updatedAt: n, lastRun: { ...run, startedAt: n, progress: n } };
      expect(encodeTask(rec)).toBe(JSON.stringify(JSON.parse(encodeTask(rec))));
      expect(decodeTask(encodeTask(rec))).toEqual(JSON.parse(JSON.stringify(rec)));
    }
  });

  it('grows its buffer for a record larger than it, and a value stays whole until the next call', () => {
    const big = { ...full, id: 'big', params: { blob: 'é'.repeat(40_000) } };
    const bytes = writer.task(big);
    expect(bytes.length).toBeGreaterThan(80_000);
    expect(decodeTask(text(bytes))).toEqual(big);
    expect(decodeTask(encodeTask(full))).toEqual(full);
  });
});

describe('the record codec, on any record', () => {
  const anyText = fc.string({ unit: 'grapheme', maxLength: 12 });
  const time = fc.option(fc.integer({ min: 0, max: 8_640_000_000_000_000 }), { nil: null });
  const runArb = fc.record({
    v: fc.constant(1), taskId: anyText, run: fc.nat(), attempt: fc.nat(), state: fc.constantFrom('running', 'finished', 'failed', 'timeout', 'cancelled', 'lost'),
    startedAt: fc.integer({ min: 0, max: 8_640_000_000_000_000 }), endedAt: time, durationMs: time, worker: fc.option(anyText, { nil: null }),
    output: fc.option(fc.json(), { nil: null }), error: fc.option(fc.record({ code: anyText, message: anyText }), { nil: null }),
    progress: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
  }) as fc.Arbitrary<RunRecord>;
  const reason = fc.constantFrom(null, 'invalid', 'error', 'lost', 'timeout', 'cancelled', 'exhausted');
  const state = fc.constantFrom('none', 'spooled', 'queued', 'running', 'finished', 'failed', 'terminated');
  const taskArb = fc.record({
    v: fc.constant(1), id: anyText, type: anyText, params: fc.jsonValue(), state, reason,
    schedule: fc.option(fc.dictionary(anyText, fc.jsonValue(), { maxKeys: 3 }), { nil: null }), recurring: fc.boolean(), priority: fc.integer(),
    maxTries: fc.nat(), timeoutMs: fc.nat(), misfire: fc.constantFrom('coalesce', 'skip', 'all'), graceMs: fc.nat(), tries: fc.nat(),
    runCount: fc.nat(), occurrences: fc.nat(), firedAt: time, interval: time, nextRunAt: time, paused: fc.boolean(),
    key: fc.option(anyText, { nil: null }), createdAt: fc.nat(), updatedAt: fc.nat(), endedAt: time, expiresAt: time,
    lastRun: fc.option(runArb, { nil: null }),
    history: fc.array(fc.record({ from: state, to: state, event: fc.constantFrom('submit', 'start', 'time_out', 'run_now'), at: fc.nat(), reason }), { maxLength: 4 }),
    historyChunks: fc.nat(), keyExpiresAt: time, keyRetentionMs: time,
  }) as fc.Arbitrary<TaskRecord>;

  it('writes valid JSON that decodes to the same record (JSON.stringify as the model)', () => {
    fc.assert(fc.property(taskArb, (rec) => {
      const model = JSON.parse(JSON.stringify(rec)) as TaskRecord;
      expect(decodeTask(encodeTask(rec))).toEqual(model);
      if (rec.lastRun !== null) expect(decodeRun(encodeRun(rec.lastRun))).toEqual(model.lastRun);
      expect(decodeHistory(encodeHistory(rec.history))).toEqual(model.history);
    }), { numRuns: 500 });
  });
});
