import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { Deadlines, type Timed } from '../../src/executor/deadlines.js';

interface Item extends Timed {
  name: string;
}

const item = (name: string): Item => ({ name, deadline: 0, deadlineIndex: -1 });

/** Resolves once `deadlines` has called back `count` times, with the names in the order called. */
function expiries(count: number): { deadlines: Deadlines<Item>; done: Promise<Array<{ name: string; late: number }>> } {
  const seen: Array<{ name: string; late: number }> = [];
  let resolve!: (v: typeof seen) => void;
  const done = new Promise<typeof seen>((r) => { resolve = r; });
  const deadlines = new Deadlines<Item>((it) => {
    seen.push({ name: it.name, late: performance.now() - it.deadline });
    if (seen.length === count) resolve(seen);
  });
  return { deadlines, done };
}

describe('Deadlines', () => {
  it('calls back each item once its deadline has passed, earliest first, whatever the order they were added in', async () => {
    const { deadlines, done } = expiries(4);
    const now = performance.now();
    for (const [name, ms] of [['c', 60], ['a', 20], ['d', 80], ['b', 40]] as const) deadlines.add(item(name), now + ms);
    const seen = await done;
    expect(seen.map((s) => s.name)).toEqual(['a', 'b', 'c', 'd']);
    for (const s of seen) expect(s.late).toBeGreaterThanOrEqual(0);
    expect(deadlines.size).toBe(0);
  });

  it('never calls back an item removed before its deadline, and still calls back the others', async () => {
    const { deadlines, done } = expiries(2);
    const now = performance.now();
    const items = ['a', 'b', 'c', 'd'].map(item);
    items.forEach((it, i) => deadlines.add(it, now + 20 + 10 * i));
    deadlines.remove(items[0]!);
    deadlines.remove(items[2]!);
    expect(items[0]!.deadlineIndex).toBe(-1);
    const seen = await done;
    expect(seen.map((s) => s.name)).toEqual(['b', 'd']);
  });

  it('moves an item added again to its new deadline', async () => {
    const { deadlines, done } = expiries(2);
    const now = performance.now();
    const a = item('a');
    deadlines.add(a, now + 10);
    deadlines.add(item('b'), now + 30);
    deadlines.add(a, now + 60);
    expect(deadlines.size).toBe(2);
    expect((await done).map((s) => s.name)).toEqual(['b', 'a']);
  });

  it('keeps no timer once every item is removed, so the process may exit', () => {
    const deadlines = new Deadlines<Item>(() => undefined);
    const a = item('a');
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    deadlines.add(a, performance.now() + 60_000);
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(before + 1);
    deadlines.remove(a);
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(before);
  });

  it('keeps the heap in order through many adds and removes', async () => {
    const count = 200;
    const { deadlines, done } = expiries(count / 2);
    const now = performance.now();
    const items = Array.from({ length: count }, (_, i) => item(String(i)));
    // Deadlines in a scrambled order; every odd one removed again.
    items.forEach((it, i) => deadlines.add(it, now + 20 + ((i * 37) % count) / 4));
    items.forEach((it, i) => { if (i % 2 === 1) deadlines.remove(it); });
    const seen = await done;
    const order = seen.map((s) => items[Number(s.name)]!.deadline);
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(seen.every((s) => Number(s.name) % 2 === 0)).toBe(true);
  });
});
