import { describe, expect, it } from 'vitest';
import { TASK_ID_PATTERN, TaskIdGenerator } from '../../src/task/task-id.js';

describe('TaskIdGenerator', () => {
  it('makes ids of 9 base-36 digits of ms, 4 of a per-ms counter and 6 random characters, sorting by creation', () => {
    const ids = new TaskIdGenerator();
    const now = Date.UTC(2026, 11, 7, 8, 0, 0);
    const made: string[] = [];
    for (let ms = now; ms < now + 3; ms++) for (let i = 0; i < 1500; i++) made.push(ids.next(ms));
    for (const [i, id] of made.entries()) {
      expect(id).toMatch(TASK_ID_PATTERN);
      const ms = now + Math.floor(i / 1500);
      expect(id.slice(0, 9)).toBe(ms.toString(36).padStart(9, '0'));
      expect(id.slice(9, 13)).toBe((i % 1500).toString(36).padStart(4, '0'));
    }
    expect([...made].sort()).toEqual(made);
    expect(new Set(made.map((id) => id.slice(13))).size).toBeGreaterThan(made.length * 0.99);
  });

  it('keeps order when the clock goes back, counting on within the last ms', () => {
    const ids = new TaskIdGenerator();
    const first = ids.next(1_000_000);
    const back = ids.next(999_000);
    expect(back.slice(0, 9)).toBe(first.slice(0, 9));
    expect(back.slice(9, 13)).toBe('0001');
    expect(back > first).toBe(true);
  });

  it('borrows the next ms after 36^4 ids in one ms, so ids stay unique and ordered', () => {
    const ids = new TaskIdGenerator();
    let last = '';
    for (let i = 0; i < 36 ** 4; i++) last = ids.next(5_000);
    expect(last.slice(0, 13)).toBe((5_000).toString(36).padStart(9, '0') + 'zzzz');
    const borrowed = ids.next(5_000);
    expect(borrowed.slice(0, 13)).toBe((5_001).toString(36).padStart(9, '0') + '0000');
    expect(borrowed > last).toBe(true);
  });
});
