import { performance } from 'node:perf_hooks';
import { MAX_TIMER_MS } from '../duration.js';

/** What a deadline is kept on: its instant (performance.now() ms) and its place in the heap (-1: none). */
export interface Timed {
  deadline: number;
  deadlineIndex: number;
}

/**
 * The runs' timeouts, on one timer: a binary heap by deadline, and a single setTimeout armed for
 * the earliest. A timer per run cost a Timeout and a closure for every run (tens of thousands a
 * second), set and cleared, though almost every run ends long before its timeout. Removing a run
 * does not re-arm: a timer that fires before the earliest deadline is armed again for it.
 * `expired` is called once per run whose deadline has passed, after it left the heap.
 */
export class Deadlines<T extends Timed> {
  readonly #heap: T[] = [];
  readonly #expired: (item: T) => void;
  #timer: NodeJS.Timeout | null = null;
  /** When the armed timer fires (performance.now() ms); Infinity while none is armed. */
  #armedFor = Infinity;

  constructor(expired: (item: T) => void) {
    this.#expired = expired;
  }

  get size(): number {
    return this.#heap.length;
  }

  add(item: T, deadline: number): void {
    if (item.deadlineIndex >= 0) this.remove(item);
    item.deadline = deadline;
    item.deadlineIndex = this.#heap.length;
    this.#heap.push(item);
    this.#up(item.deadlineIndex);
    if (deadline < this.#armedFor) this.#arm(deadline, performance.now());
  }

  /** Takes `item`'s deadline away; nothing when it has none. */
  remove(item: T): void {
    const i = item.deadlineIndex;
    if (i < 0) return;
    item.deadlineIndex = -1;
    const heap = this.#heap;
    const last = heap.pop()!;
    if (i < heap.length) {
      heap[i] = last;
      last.deadlineIndex = i;
      this.#down(i);
      this.#up(last.deadlineIndex);
    }
    // No run left to time: no timer holds the process open.
    if (heap.length === 0) this.#disarm();
  }

  #fire(): void {
    this.#timer = null;
    this.#armedFor = Infinity;
    const heap = this.#heap;
    // Node counts a timer from its loop's clock, read when the turn began, so it may fire early:
    // what is not due yet gets the timer again for its rest.
    const now = performance.now();
    while (heap.length > 0 && heap[0]!.deadline <= now) {
      const item = heap[0]!;
      this.remove(item);
      this.#expired(item);
    }
    if (heap.length > 0 && this.#timer === null) this.#arm(heap[0]!.deadline, now);
  }

  #arm(deadline: number, now: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#armedFor = deadline;
    // A held run's deadline may lie past the longest timer Node keeps (fired at once otherwise): armed again when it fires.
    this.#timer = setTimeout(() => this.#fire(), Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(deadline - now))));
  }

  #disarm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#armedFor = Infinity;
  }

  #up(i: number): void {
    const heap = this.#heap;
    const item = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent]!;
      if (above.deadline <= item.deadline) break;
      heap[i] = above;
      above.deadlineIndex = i;
      i = parent;
    }
    heap[i] = item;
    item.deadlineIndex = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const item = heap[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && heap[right]!.deadline < heap[left]!.deadline ? right : left;
      const below = heap[child]!;
      if (below.deadline >= item.deadline) break;
      heap[i] = below;
      below.deadlineIndex = i;
      i = child;
    }
    heap[i] = item;
    item.deadlineIndex = i;
  }
}
