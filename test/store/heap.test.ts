import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Heap } from '../../src/store/level-source/heap.js';

describe('Heap', () => {
  it('pops in order whatever the pushes and pops between them', () => {
    // A command is a number to push or null for a pop; a sorted array is the model.
    fc.assert(fc.property(fc.array(fc.option(fc.integer({ min: -50, max: 50 }), { nil: null }), { maxLength: 300 }), (commands) => {
      const heap = new Heap<number>((a, b) => a < b);
      const model: number[] = [];
      for (const c of commands) {
        if (c === null) {
          expect(heap.pop()).toBe(model.shift());
        } else {
          heap.push(c);
          model.push(c);
          model.sort((a, b) => a - b);
        }
        expect(heap.size).toBe(model.length);
        expect(heap.peek()).toBe(model[0]);
      }
      heap.filter((x) => x % 2 === 0);
      const rest: number[] = [];
      for (let x = heap.pop(); x !== undefined; x = heap.pop()) rest.push(x);
      expect(rest).toEqual(model.filter((x) => x % 2 === 0));
    }), { numRuns: 300 });
  });

  it('pops in order through a long run of in-order pushes taken while it grows (its front dropped as it goes), with some out of order', () => {
    const heap = new Heap<number>((a, b) => a < b);
    const model: number[] = [];
    let popped = 0;
    for (let i = 0; i < 6000; i++) {
      // Mostly ascending, every seventh push behind the rest.
      const x = i % 7 === 0 ? i - 500 : i;
      heap.push(x);
      model.push(x);
      if (i % 3 !== 0) {
        model.sort((a, b) => a - b);
        expect(heap.pop()).toBe(model.shift());
        popped++;
      }
    }
    model.sort((a, b) => a - b);
    expect(heap.size).toBe(6000 - popped);
    expect([...heap.values()].sort((a, b) => a - b)).toEqual(model);
    const rest: number[] = [];
    for (let x = heap.pop(); x !== undefined; x = heap.pop()) rest.push(x);
    expect(rest).toEqual(model);
  });
});
