import { describe, expect, it } from 'vitest';
import { TaskWrite } from '../../../src/store/pg-source/task-write.js';
import type { TaskRecord } from '../../../src/task/record.js';

/** The fields a write reads of a record besides what the decision does. */
const queued = (updatedAt: number): TaskRecord => ({
  id: '0000000000000abcdef', type: 'noop', state: 'queued', paused: false, nextRunAt: null, lastRun: null, history: [], historyChunks: 0, updatedAt,
} as unknown as TaskRecord);

describe('the instant of a PostgreSQL write', () => {
  it('moves up to the newest version it changes: a row committed after the transaction began is never decided on earlier', () => {
    const w = new TaskWrite(1000);
    const seen: number[] = [];
    w.apply({ rec: queued(900), owner: null, leaseUntil: null, version: 0 }, (_rec, ctx) => { seen.push(ctx.now); });
    // Committed at 1500 by a transaction that began after this one (READ COMMITTED reads it).
    w.apply({ rec: queued(1500), owner: null, leaseUntil: null, version: 0 }, (_rec, ctx) => { seen.push(ctx.now); });
    w.apply({ rec: queued(1200), owner: null, leaseUntil: null, version: 0 }, (_rec, ctx) => { seen.push(ctx.now); });
    expect(seen).toEqual([1000, 1500, 1500]);
  });
});
