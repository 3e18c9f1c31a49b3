import { describe, expect, it } from 'vitest';
import { RecordWriter } from '../../src/store/record-codec.js';
import type { TaskRecord } from '../../src/task/record.js';

/**
 * RecordWriter keeps each task's fixed-field bytes (and a long history's) between writes: whichever
 * records come and go, share a schedule object or are read again, every write must be the bytes a
 * fresh writer makes.
 */
const base: TaskRecord = {
  v: 1, id: 'lxq3k2a9b0000abcxyz', type: 'fetch', params: { url: 'https://example.com' }, state: 'queued', reason: null,
  schedule: { at: '2027-01-01T00:00:00.000Z' }, recurring: false, priority: 0, maxTries: 3, timeoutMs: 30_000,
  misfire: 'skip', graceMs: 0, tries: 0, runCount: 0, occurrences: 0, firedAt: null, interval: null, nextRunAt: 5,
  paused: false, key: null, createdAt: 1, updatedAt: 2, endedAt: null, expiresAt: null, lastRun: null,
  history: [{ from: 'none', to: 'spooled', event: 'submit', at: 1, reason: null }], historyChunks: 0, keyExpiresAt: null, keyRetentionMs: null,
};

const bytesOf = (w: RecordWriter, rec: TaskRecord): number[] => [...w.task(rec)];
const fresh = (rec: TaskRecord): number[] => bytesOf(new RecordWriter(), rec);

describe('the record writer cache of fixed fields', () => {
  it('writes tasks written in turns as a fresh writer does', () => {
    const w = new RecordWriter();
    const a: TaskRecord = { ...base, id: 'aaaaaaaaaaaaaaaaxyz', schedule: { at: 'a' }, params: { n: 1 } };
    const b: TaskRecord = { ...base, id: 'bbbbbbbbbbbbbbbbxyz', schedule: { at: 'b' }, params: { n: 2 } };
    for (const rec of [a, b, a, a, b, b, a]) expect(bytesOf(w, rec)).toEqual(fresh(rec));
  });

  it('writes a task given the same id and schedule object as another (an in-process caller) by its own fields', () => {
    const w = new RecordWriter();
    const schedule = { at: 'shared' };
    const a: TaskRecord = { ...base, schedule, params: { n: 1 } };
    bytesOf(w, a);
    const other: TaskRecord = { ...base, id: 'zzzzzzzzzzzzzzzzzzz', schedule, params: { n: 2 } };
    expect(bytesOf(w, other)).toEqual(fresh(other));
    expect(bytesOf(w, a)).toEqual(fresh(a));
  });

  it('writes a record read again (a new schedule object) and an ended task written again as a fresh writer does', () => {
    const w = new RecordWriter();
    const rec: TaskRecord = { ...base };
    bytesOf(w, rec);
    const reread: TaskRecord = { ...rec, schedule: { ...(rec.schedule as object) }, key: 'k' };
    expect(bytesOf(w, reread)).toEqual(fresh(reread));
    const ended: TaskRecord = { ...rec, state: 'finished', endedAt: 9, history: [...rec.history, { from: 'running', to: 'finished', event: 'succeed', at: 9, reason: null }] };
    expect(bytesOf(w, ended)).toEqual(fresh(ended));
    expect(bytesOf(w, ended)).toEqual(fresh(ended));
    const reopened: TaskRecord = { ...ended, state: 'queued', endedAt: null };
    expect(bytesOf(w, reopened)).toEqual(fresh(reopened));
  });

  it('writes records with short or empty ids', () => {
    const w = new RecordWriter();
    for (const id of ['', 'a', 'ab', 'abc']) {
      const rec: TaskRecord = { ...base, id, schedule: { at: id } };
      expect(bytesOf(w, rec)).toEqual(fresh(rec));
      expect(bytesOf(w, rec)).toEqual(fresh(rec));
    }
  });
});
