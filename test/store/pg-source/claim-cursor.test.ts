import { describe, expect, it } from 'vitest';
import { ClaimCursors, claimsBefore, type ClaimKey } from '../../../src/store/pg-source/claim-cursor.js';

const key = (priority: number, due: number, id: string): ClaimKey => ({ priority, due, id });
const before = (a: ClaimKey, b: ClaimKey): boolean => claimsBefore(a.priority, a.due, a.id, b);

/** Cursors with the listener up (they are held until it is). */
function cursors(): ClaimCursors {
  const c = new ClaimCursors();
  c.hold(false);
  return c;
}

describe('claim order (spindle_tasks_claim: priority DESC, next_run_at, id)', () => {
  it('puts a higher priority first, then the earlier due time, then the smaller id bytewise', () => {
    expect(before(key(5, 900, 'b'), key(0, 100, 'a'))).toBe(true);
    expect(before(key(0, 100, 'b'), key(5, 900, 'a'))).toBe(false);
    expect(before(key(0, 100, 'b'), key(0, 101, 'a'))).toBe(true);
    expect(before(key(0, 100, 'B'), key(0, 100, 'a'))).toBe(true);
    expect(before(key(0, 100, 'a'), key(0, 100, 'a'))).toBe(false);
    expect(before(key(-1, 0, 'a'), key(0, 100, 'z'))).toBe(false);
  });
});

describe('ClaimCursors', () => {
  it('keeps one cursor per set of types, whatever their order', () => {
    const c = cursors();
    c.reached(['b', 'a'], key(0, 10, 'x'), c.epoch);
    expect(c.get(['a', 'b'])).toEqual(key(0, 10, 'x'));
    expect(c.get(['a'])).toBeUndefined();
  });

  it('goes when this runtime queues a task before a cursor, and stays for one after every cursor', () => {
    const c = cursors();
    c.reached(['a'], key(0, 100, 'm'), c.epoch);
    c.reached(['b'], key(0, 50, 'm'), c.epoch);
    c.queued(key(0, 100, 'z'));
    expect(c.get(['a'])).toEqual(key(0, 100, 'm'));
    // Before the cursor of a: every cursor goes (the task's type is not asked).
    c.queued(key(0, 60, 'a'));
    expect(c.get(['a'])).toBeUndefined();
    expect(c.get(['b'])).toBeUndefined();
    c.reached(['a'], key(0, 100, 'm'), c.epoch);
    c.queued(key(1, 500, 'z'));
    expect(c.get(['a'])).toBeUndefined();
  });

  it('takes no cursor from a claim that read before a reset', () => {
    const c = cursors();
    const epoch = c.epoch;
    c.reset();
    c.reached(['a'], key(0, 100, 'm'), epoch);
    expect(c.get(['a'])).toBeUndefined();
    c.reached(['a'], key(0, 100, 'm'), c.epoch);
    expect(c.get(['a'])).toEqual(key(0, 100, 'm'));
  });

  it('is held until the listener is up and while it is down: none used, none kept', () => {
    const c = new ClaimCursors();
    c.reached(['a'], key(0, 100, 'm'), c.epoch);
    expect(c.get(['a'])).toBeUndefined();
    c.hold(false);
    c.reached(['a'], key(0, 100, 'm'), c.epoch);
    expect(c.get(['a'])).toEqual(key(0, 100, 'm'));
    c.hold(true);
    expect(c.get(['a'])).toBeUndefined();
    c.hold(false);
    expect(c.get(['a'])).toBeUndefined();
  });
});
