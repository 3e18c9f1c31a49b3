import { describe, expect, it } from 'vitest';
import { DueWindow } from '../../src/store/level-source/due-window.js';
import { newLive } from '../../src/store/level-source/live-task.js';
import type { TaskRecord } from '../../src/task/record.js';

const task = (id: string, type: string, priority: number, due: number) =>
  newLive({ id, type, priority, nextRunAt: due, state: 'queued', paused: false } as TaskRecord, { stored: false });

describe('DueWindow', () => {
  it('takes due tasks by priority, then due time, skipping types that cannot run', () => {
    const w = new DueWindow();
    w.extend(null, true);
    const low = task('a', 'x', 0, 10);
    const high = task('b', 'x', 5, 20);
    const other = task('c', 'y', 9, 5);
    const future = task('d', 'x', 100, 1000);
    for (const t of [low, high, other, future]) w.add(t, t.rec.nextRunAt!, 0);
    w.promote(100);
    expect(w.take((type) => type === 'x')).toBe(high);
    expect(w.take(() => true)).toBe(other);
    expect(w.take(() => true)).toBe(low);
    expect(w.take(() => true)).toBeUndefined();
    expect(w.nextDue()).toBe(1000);
  });

  it('forgets removed tasks', () => {
    const w = new DueWindow();
    w.extend(null, true);
    const a = task('a', 'x', 0, 10);
    w.add(a, 10, 0);
    w.remove(a);
    w.promote(100);
    expect(w.take(() => true)).toBeUndefined();
    expect(w.size).toBe(0);
  });

  it('shrinks to the nearest tasks and pulls its horizon back', () => {
    const w = new DueWindow();
    w.extend(null, true);
    const ts = Array.from({ length: 10 }, (_, i) => task(`t${i}`, 'x', 0, 100 + i));
    for (const t of ts) w.add(t, t.rec.nextRunAt!, 0);
    const dropped = w.shrink(4);
    expect(dropped.map((t) => t.rec.id)).toEqual(['t4', 't5', 't6', 't7', 't8', 't9']);
    expect(w.size).toBe(4);
    expect(w.complete).toBe(false);
    expect(w.covers(103, 't3')).toBe(true);
    expect(w.covers(104, 't4')).toBe(false);
  });
});
