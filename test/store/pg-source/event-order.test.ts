import { describe, expect, it } from 'vitest';
import type { SpindleEvent } from '../../../src/api/events.js';
import { ECHO_WAIT_MS, EventOrder } from '../../../src/store/pg-source/event-order.js';

const ev = (id: string): SpindleEvent => ({ event: 'task.state', data: { id, type: 't', from: 'queued', to: 'running', reason: null, at: '2026-12-07T00:00:00.000Z' } });

function order(): { o: EventOrder; seen: string[]; clock: { ms: number } } {
  const seen: string[] = [];
  const clock = { ms: 1000 };
  const o = new EventOrder((events) => { for (const e of events) seen.push((e.data as { id: string }).id); }, () => clock.ms);
  o.connected();
  return { o, seen, clock };
}

describe('EventOrder: this runtime\'s events among the other runtimes\', in commit order', () => {
  it('holds a committed transaction\'s events until its notification comes back, behind what was heard before it', () => {
    const { o, seen } = order();
    const seq = o.next()!;
    o.committed(seq, [ev('mine')]);
    expect(seen).toEqual([]);
    // Another runtime's transaction committed before ours: heard first, emitted first.
    o.others([ev('earlier')]);
    o.heard(seq);
    o.others([ev('later')]);
    expect(seen).toEqual(['earlier', 'mine', 'later']);
  });

  it('a notification heard before its commit answered holds the line until the answer brings its events', () => {
    const { o, seen } = order();
    const seq = o.next()!;
    o.heard(seq);
    o.others([ev('after')]);
    expect(seen).toEqual([]);
    o.committed(seq, [ev('mine')]);
    expect(seen).toEqual(['mine', 'after']);
  });

  it('a transaction that sent no events, or any while the listener is down, goes at its commit, after what waits', () => {
    const { o, seen } = order();
    const held = o.next()!;
    o.heard(held);
    o.committed(null, [ev('unsent')]);
    expect(seen).toEqual([]);
    o.committed(held, [ev('held')]);
    expect(seen).toEqual(['held', 'unsent']);
    const sent = o.next()!;
    o.committed(sent, [ev('sent')]);
    o.disconnected();
    expect(seen).toEqual(['held', 'unsent', 'sent']);
    expect(o.next()).toBeNull();
    o.committed(null, [ev('down')]);
    expect(seen.at(-1)).toBe('down');
  });

  it('lets go of what waited past ECHO_WAIT_MS: a notification that never came, a commit that never answered', () => {
    const { o, seen, clock } = order();
    const lost = o.next()!;
    o.committed(lost, [ev('never heard')]);
    const orphan = o.next()!;
    o.heard(orphan);
    o.others([ev('behind')]);
    clock.ms += ECHO_WAIT_MS - 1;
    o.tick();
    expect(seen).toEqual([]);
    clock.ms += 2;
    o.tick();
    expect(seen).toEqual(['behind', 'never heard']);
    // The answer that comes after all: its events go then, nothing waits.
    o.committed(orphan, [ev('late')]);
    expect(seen).toEqual(['behind', 'never heard', 'late']);
  });

  it('ignores a seq it never gave (an earlier process under the same id)', () => {
    const { o, seen } = order();
    o.heard(99);
    o.others([ev('other')]);
    expect(seen).toEqual(['other']);
  });
});
