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
      const rec = { ...full, id: `n${n}`, priority: n, updatedAt: n, lastRun: { ...run, taskId: `n${n}`, startedAt: n, progress: n } };
      expect(encodeTask(rec)).toBe(JSON.stringify(JSON.parse(encodeTask(rec))));
      expect(decodeTask(encodeTask(rec))).toEqual(JSON.parse(JSON.stringify(rec)));
    }
  });

  it('writes a task whose history grew, spilled or was rolled back as a fresh writer does', () => {
    const cached = new RecordWriter();
    const entry = (at: number): TaskRecord['history'][number] => ({ from: 'queued', to: 'running', event: 'start', at, reason: at % 2 === 0 ? null : 'error' });
    const rec: TaskRecord = { ...full, id: 'grows', schedule: { at: 'x' }, history: [] };
    const same = (r: TaskRecord): void => expect([...cached.task(r)]).toEqual([...new RecordWriter().task(r)]);
    same(rec);
    for (let at = 1; at <= 8; at++) {
      rec.history = [...rec.history, entry(at)];
      same(rec);
      same({ ...rec, history: rec.history.slice() });
    }
    // Spilled from the front (the store keeps the oldest entries in chunks of their own).
    rec.history = rec.history.slice(2);
    same(rec);
    rec.history = [...rec.history, entry(6)];
    same(rec);
    // Rolled back to a shorter history, then new entries at the same length as before.
    const back = rec.history.slice(0, 2);
    same({ ...rec, history: back });
    same({ ...rec, history: [...back, entry(7), entry(8)] });
    same({ ...rec, history: [] });
  });

  it('grows its buffer for a record larger than it, and a value stays whole until the next call', () => {
    const big = { ...full, id: 'big', params: { blob: 'é'.repeat(40_000) }, lastRun: { ...run, taskId: 'big' } };
    const bytes = writer.task(big);
    expect(bytes.length).toBeGreaterThan(80_000);
    expect(decodeTask(text(bytes))).toEqual(big);
    expect(decodeTask(encodeTask(full))).toEqual(full);
  });
});

describe('the record codec, on any record', () => {
  const anyText = fc.string({ unit: 'grapheme', maxLength: 12 });
  // Whole ms, as every clock here gives; any other number too (a time with a fraction is stored whole).
  const time = fc.option(fc.oneof(fc.integer({ min: 0, max: 8_640_000_000_000_000 }), fc.double()), { nil: null });
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
    history: fc.array(fc.record({ from: state, to: state, event: fc.constantFrom('submit', 'start', 'time_out', 'run_now'), at: fc.oneof(fc.nat(), fc.double({ noNaN: true, noDefaultInfinity: true })), reason }), { maxLength: 6 }),
    historyChunks: fc.nat(), keyExpiresAt: time, keyRetentionMs: time,
    // A task's last run is its own (the layout stores it without the task's id).
  }).map((t) => ({ ...t, lastRun: t.lastRun === null ? null : { ...t.lastRun, taskId: t.id } })) as fc.Arbitrary<TaskRecord>;

  it('writes valid JSON that decodes to the same record (JSON.stringify as the model)', () => {
    fc.assert(fc.property(taskArb, (rec) => {
      const model = JSON.parse(JSON.stringify(rec)) as TaskRecord;
      expect(decodeTask(encodeTask(rec))).toEqual(model);
      if (rec.lastRun !== null) expect(decodeRun(encodeRun(rec.lastRun))).toEqual(model.lastRun);
      expect(decodeHistory(encodeHistory(rec.history))).toEqual(model.history);
    }), { numRuns: 500 });
  });

  // With the pinned layout below, this makes the bytes JSON.stringify's of the row: the fast paths
  // (single digits, short ASCII JSON, histories not kept) cannot write anything else.
  it('writes exactly the bytes JSON.stringify gives for the row it decodes to, cached or not', () => {
    const cached = new RecordWriter();
    fc.assert(fc.property(taskArb, fc.array(fc.integer({ min: -12, max: 12 }), { maxLength: 8 }), (rec, counts) => {
      const withCounts = { ...rec, priority: counts[0] ?? rec.priority, tries: counts[1] ?? rec.tries, runCount: counts[2] ?? rec.runCount };
      const bytes = [...new RecordWriter().task(withCounts)];
      const textOf = Buffer.from(bytes).toString('utf8');
      expect(bytes).toEqual([...Buffer.from(JSON.stringify(JSON.parse(textOf)), 'utf8')]);
      cached.task(withCounts);
      expect([...cached.task(withCounts)]).toEqual(bytes);
    }), { numRuns: 500 });
  });

  it('writes a key cleared in place (a retried task whose hold ran out) as a fresh writer does', () => {
    const cached = new RecordWriter();
    const rec: TaskRecord = { ...full, id: 'rekeyed', schedule: { every: '1h' } };
    cached.task(rec);
    rec.key = null;
    expect([...cached.task(rec)]).toEqual([...new RecordWriter().task(rec)]);
    expect(decodeTask(text(cached.task(rec))).key).toBeNull();
  });
});

/**
 * The stored layouts, pinned. Layout 1's bytes were written by the codec before its field order
 * became one table (record-codec.ts as of 9249963), and tasks were written so until layout 2;
 * earlier runs and history chunks still are. Stores hold such bytes, so a change to the tables
 * that moves, drops or retypes a field must fail here, not in a user's store.
 */
describe('the stored layouts', () => {
  const golden: TaskRecord = {
    v: 1, id: '01JDQ3Z5KX7S4V0YB2N8M6C1HF', type: 'fetch', params: { url: 'https://example.com/ü?q="x"', deep: [1, { x: null }], n: -2.5e-7 },
    state: 'queued', reason: null, schedule: { every: '1h', start: '2027-01-01T00:00:00.000Z' }, recurring: true, priority: -3, maxTries: 5,
    timeoutMs: 30_000, misfire: 'skip', graceMs: 2000, tries: 2, runCount: 3, occurrences: 2, firedAt: 1_800_000_000_000, interval: 3_600_000,
    nextRunAt: 1_800_000_003_600, paused: true, key: 'clé "1"', createdAt: 1_799_999_000_000, updatedAt: 1_800_000_000_001, endedAt: null,
    expiresAt: null, lastRun: { ...run, output: '{"ok":true}' }, history: full.history, historyChunks: 4, keyExpiresAt: 1_800_000_000_500,
    keyRetentionMs: 86_400_000,
  };
  const goldenBytes = String.raw`[1,"01JDQ3Z5KX7S4V0YB2N8M6C1HF","fetch",{"url":"https://example.com/ü?q=\"x\"","deep":[1,{"x":null}],"n":-2.5e-7},{"every":"1h","start":"2027-01-01T00:00:00.000Z"},true,-3,5,30000,"skip",2000,"clé \"1\"",1799999000000,"queued",null,2,3,2,1800000000000,3600000,1800000003600,true,1800000000001,null,null,[1,"abc",3,2,"failed",1800000000000,1800000000500,500,"thread-1","{\"ok\":true}",{"code":"HANDLER_ERROR","message":"boom"},0.5],[["none","spooled","submit",1,null],["running","queued","fail",2,"error"]],4,1800000000500,86400000]`;
  const nulls: TaskRecord = {
    ...golden, id: '01JDQ3Z5KX7S4V0YB2N8M6C1HG', params: {}, schedule: null, recurring: false, reason: 'exhausted', state: 'finished',
    firedAt: null, interval: null, nextRunAt: null, paused: false, key: null, endedAt: 3, expiresAt: 4,
    lastRun: { ...run, state: 'finished', endedAt: null, durationMs: null, worker: null, output: null, error: null, progress: null },
    history: [], historyChunks: 0, keyExpiresAt: null, keyRetentionMs: null,
  };
  const nullsBytes = '[1,"01JDQ3Z5KX7S4V0YB2N8M6C1HG","fetch",{},null,false,-3,5,30000,"skip",2000,null,1799999000000,"finished","exhausted",2,3,2,null,null,null,false,1800000000001,3,4,[1,"abc",3,2,"finished",1800000000000,null,null,null,null,null,null],[],0,null,null]';

  // Layout 2: times from createdAt (one before it, one with a fraction), an entry whose state left
  // is not the one the entry before entered, the last run without the task's id.
  const id2 = '01JDQ3Z5KX7S4V0YB2N8M6C1HJ';
  const golden2: TaskRecord = {
    ...golden, id: id2, nextRunAt: 1_799_998_000_000, lastRun: { ...run, taskId: id2, output: '{"ok":true}' },
    history: [
      { from: 'none', to: 'spooled', event: 'submit', at: 1_799_999_000_000, reason: null },
      { from: 'queued', to: 'running', event: 'start', at: 1_800_000_000_000, reason: null },
      { from: 'running', to: 'queued', event: 'fail', at: 1_800_000_000_500, reason: 'error' },
      { from: 'queued', to: 'running', event: 'start', at: 1_800_000_000_600.25, reason: null },
    ],
  };
  const golden2Bytes = String.raw`[2,"01JDQ3Z5KX7S4V0YB2N8M6C1HJ","fetch",{"url":"https://example.com/ü?q=\"x\"","deep":[1,{"x":null}],"n":-2.5e-7},{"every":"1h","start":"2027-01-01T00:00:00.000Z"},true,-3,5,30000,"skip",2000,"clé \"1\"",1799999000000,"queued",null,2,3,2,1000000,3600000,-1000000,true,1000001,null,null,[3,2,"failed",1000000,1000500,500,"thread-1","{\"ok\":true}",{"code":"HANDLER_ERROR","message":"boom"},0.5],[["spooled","submit",0],["running","start",1000000,null,"queued"],["queued","fail",1000500,"error"],["running","start","1800000000600.25"]],4,1000500,86400000]`;
  const id3 = '01JDQ3Z5KX7S4V0YB2N8M6C1HK';
  const nulls2: TaskRecord = {
    ...nulls, id: id3, endedAt: 1_800_000_000_700, expiresAt: 1_800_600_000_700, lastRun: { ...nulls.lastRun!, taskId: id3 },
  };
  const nulls2Bytes = '[2,"01JDQ3Z5KX7S4V0YB2N8M6C1HK","fetch",{},null,false,-3,5,30000,"skip",2000,null,1799999000000,"finished","exhausted",2,3,2,null,null,null,false,1000001,1000700,601000700,[3,2,"finished",1000000,null,null,null,null,null,null],[],0,null,null]';
  // Bytes, not text: the same string could come from other bytes only through invalid UTF-8.
  const bytesOf = (s: string): number[] => [...Buffer.from(s, 'utf8')];

  it.each([['every field set', golden2, golden2Bytes], ['nulls and empties', nulls2, nulls2Bytes]])('writes a task with %s in layout 2 byte for byte, from its fixed-field cache too', (_, rec, bytes) => {
    expect([...new RecordWriter().task(rec)]).toEqual(bytesOf(bytes));
    const cached = new RecordWriter();
    cached.task(rec);
    expect([...cached.task(rec)]).toEqual(bytesOf(bytes));
    expect(decodeTask(bytes)).toEqual(rec);
  });

  it('writes run records and history chunks in layout 1 byte for byte as before', () => {
    expect([...writer.run(run)]).toEqual(bytesOf(String.raw`[1,"abc",3,2,"failed",1800000000000,1800000000500,500,"thread-1",null,{"code":"HANDLER_ERROR","message":"boom"},0.5]`));
    expect([...writer.history(full.history)]).toEqual(bytesOf('[["none","spooled","submit",1,null],["running","queued","fail",2,"error"]]'));
  });

  it('reads tasks written in layout 1, and one from before the key fields were appended with them null', () => {
    expect(decodeTask(goldenBytes)).toEqual(golden);
    expect(decodeTask(nullsBytes)).toEqual(nulls);
    const beforeKeys = goldenBytes.replace(/,1800000000500,86400000\]$/, ']');
    expect(decodeTask(beforeKeys)).toEqual({ ...golden, keyExpiresAt: null, keyRetentionMs: null });
  });

  it('writes a task read in layout 1 again in layout 2, every field kept, in fewer bytes', () => {
    const rec = { ...golden, lastRun: { ...golden.lastRun!, taskId: golden.id } };
    const again = new RecordWriter().task(rec);
    expect(again[1]).toBe(0x32 /* 2 */);
    expect(decodeTask(text(again))).toEqual(rec);
    expect(again.length).toBeLessThan(Buffer.byteLength(goldenBytes));
  });
});
