import { describe, expect, it } from 'vitest';
import type { SpindleEvent } from '../../../src/api/events.js';
import { MAX_PAYLOAD_BYTES, notifyPayloads, parsePayload } from '../../../src/store/pg-source/notices.js';

const at = '2026-12-06T22:00:00.000Z';
const state = (id: string): SpindleEvent => ({ event: 'task.state', data: { id, type: 'echo', from: 'queued', to: 'running', reason: null, at } });
const started = (id: string): SpindleEvent => ({ event: 'run.started', data: { id, type: 'echo', attempt: 1, run: 1, startedAt: at } });
const ended = (id: string, extra: object): SpindleEvent => ({
  event: 'run.ended', data: { id, type: 'echo', attempt: 1, run: 1, state: 'finished', startedAt: at, endedAt: at, durationMs: 3, worker: 'thread-1', ...extra },
});

function received(payloads: string[], me = 'b'): SpindleEvent[] {
  return payloads.flatMap((p) => parsePayload(p, me, () => true)?.events ?? []);
}

describe('what a transaction tells the other runtimes (pg_notify payloads)', () => {
  it('carries notices and events, read back as they were announced', () => {
    const events = [state('t1'), started('t1'), ended('t1', { output: { n: 'wörld' } }), ended('t2', { error: { code: 'HANDLER_ERROR', message: 'no', stack: 'at x' } })];
    const payloads = notifyPayloads('a', [{ due: 5 }], events);
    expect(payloads).toHaveLength(2);
    expect(parsePayload(payloads[0], 'b', () => true)).toEqual({ from: 'a', notices: [{ due: 5 }], events: null });
    expect(received(payloads)).toEqual(events);
    // Progress is never written, so never sent.
    expect(notifyPayloads('a', [], [{ event: 'run.progress', data: { id: 't1', type: 'echo', attempt: 1, run: 1, progress: 0.5 } }])).toEqual([]);
  });

  it('skips its own payloads, and events while nobody listens, without reading them', () => {
    const payloads = notifyPayloads('a', [{ typePauses: true }], [state('t1')]);
    expect(payloads.map((p) => parsePayload(p, 'a', () => true))).toEqual([null, null]);
    let asked = 0;
    expect(parsePayload(payloads[1], 'b', () => { asked++; return false; })).toBeNull();
    expect(asked).toBe(1);
    // The notices still count when nobody listens.
    expect(parsePayload(payloads[0], 'b', () => false)).toMatchObject({ notices: [{ typePauses: true }] });
    expect(parsePayload('not json', 'b', () => true)).toBeNull();
    expect(parsePayload('e[1,', 'b', () => true)).toBeNull();
  });

  it('splits notices too: a sweep that ends a hundred runs of another runtime asks a hundred aborts', () => {
    const notices = Array.from({ length: 300 }, (_, i) => ({ abort: { owner: `some-host.example:${10_000 + i}:0123abcd`, taskId: `01JEXAMPLE${String(i).padStart(16, '0')}`, run: i } }));
    const payloads = notifyPayloads('a', [...notices, { due: 7 }], [state('t1')]);
    expect(payloads.length).toBeGreaterThan(3);
    expect(payloads.every((p) => Buffer.byteLength(p) <= MAX_PAYLOAD_BYTES)).toBe(true);
    expect(payloads.flatMap((p) => parsePayload(p, 'b', () => true)?.notices ?? [])).toEqual([...notices, { due: 7 }]);
    expect(received(payloads)).toEqual([state('t1')]);
  });

  it('spreads many events over payloads under the limit, in order, none lost', () => {
    const events = Array.from({ length: 600 }, (_, i) => (i % 2 === 0 ? state(`task-${i}`) : started(`task-${i}`)));
    const payloads = notifyPayloads('a', [], events);
    expect(payloads.length).toBeGreaterThan(3);
    expect(payloads.every((p) => Buffer.byteLength(p) <= MAX_PAYLOAD_BYTES)).toBe(true);
    expect(received(payloads)).toEqual(events);
  });

  it('numbers a transaction\'s first event payload for its sender (its place in the order), which the others skip', () => {
    const events = Array.from({ length: 600 }, (_, i) => state(`task-${i}`));
    const payloads = notifyPayloads('a', [{ due: 1 }], events, 123_456_789);
    expect(payloads.every((p) => Buffer.byteLength(p) <= MAX_PAYLOAD_BYTES)).toBe(true);
    // The sender reads back only the seq, from the first event payload; the later ones and its notices are skipped.
    expect(payloads.map((p) => parsePayload(p, 'a', () => true))).toEqual([null, { from: 'a', notices: [], events: null, own: 123_456_789 }, ...payloads.slice(2).map(() => null)]);
    expect(received(payloads)).toEqual(events);
  });

  it('leaves out what does not fit one payload: the output, the error stack, most of a long message, and says so', () => {
    const big = ended('t1', { output: { s: 'é'.repeat(MAX_PAYLOAD_BYTES) } });
    const failed = ended('t2', { state: 'failed', error: { code: 'HANDLER_ERROR', message: 'é'.repeat(4000), stack: 's'.repeat(16_000), name: 'Error' } });
    const small = state('t3');
    const payloads = notifyPayloads('a', [], [big, failed, small]);
    expect(payloads.every((p) => Buffer.byteLength(p) <= MAX_PAYLOAD_BYTES)).toBe(true);
    const [e1, e2, e3] = received(payloads);
    const { output: _o, ...bigRest } = big.data as Record<string, unknown>;
    expect(e1).toEqual({ event: 'run.ended', data: { ...bigRest, truncated: true } });
    expect(e2).toMatchObject({ event: 'run.ended', data: { id: 't2', state: 'failed', truncated: true, error: { code: 'HANDLER_ERROR', name: 'Error' } } });
    const error = (e2!.data as { error: { message: string; stack?: string } }).error;
    expect(error.stack).toBeUndefined();
    expect(error.message).toBe(`${'é'.repeat(1000)}…`);
    expect(e3).toEqual(small);
  });

  it('carries the task a terminal task.state brings (a task kept for no time), and leaves it out, saying so, when it does not fit', () => {
    const view = { id: 't1', type: 'echo', params: { n: 'wörld' }, state: 'finished', reason: null, lastRun: { run: 1, output: { n: 1 } } };
    const end = (task: object): SpindleEvent => ({ event: 'task.state', data: { id: 't1', type: 'echo', from: 'running', to: 'finished', reason: null, at, task: task as never } });
    expect(received(notifyPayloads('a', [], [end(view), state('t2')]))).toEqual([end(view), state('t2')]);
    const big = { ...view, params: { blob: 'x'.repeat(MAX_PAYLOAD_BYTES) } };
    const [cut] = received(notifyPayloads('a', [], [end(big)]));
    expect(cut).toEqual({ event: 'task.state', data: { id: 't1', type: 'echo', from: 'running', to: 'finished', reason: null, at, truncated: true } });
  });
});
