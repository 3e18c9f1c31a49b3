/**
 * A min-heap ordered by `less`, with a queue in front of it for items pushed in order.
 *
 * The due window pushes mostly in order: task ids grow with time and the tasks of one submit share
 * their due time, so each ready task comes after the one before. Such a push joins the queue (one
 * comparison, with the queue's last item) instead of sifting into the heap, and is taken from the
 * queue's front: a pop compares the two fronts. Through the heap alone, each take from a ready
 * heap of thousands sifted a hole down a dozen levels, two comparisons a level, each comparing ids
 * (they tie on priority and due): about 3% of the supervisor's thread with 256 runs per worker.
 */
export class Heap<T> {
  readonly #items: T[] = [];
  /** Items in order from #head on (none less than the one before it). */
  #queue: Array<T | undefined> = [];
  #head = 0;
  readonly #less: (a: T, b: T) => boolean;

  constructor(less: (a: T, b: T) => boolean) {
    this.#less = less;
  }

  get size(): number {
    return this.#items.length + this.#queue.length - this.#head;
  }

  peek(): T | undefined {
    const top = this.#items[0];
    if (this.#head === this.#queue.length) return top;
    const first = this.#queue[this.#head] as T;
    return top !== undefined && this.#less(top, first) ? top : first;
  }

  push(item: T): void {
    const q = this.#queue;
    if (q.length === this.#head || !this.#less(item, q[q.length - 1] as T)) {
      q.push(item);
      return;
    }
    this.#pushHeap(item);
  }

  pop(): T | undefined {
    if (this.#head < this.#queue.length) {
      const first = this.#queue[this.#head] as T;
      const top = this.#items[0];
      if (top === undefined || !this.#less(top, first)) {
        this.#shift();
        return first;
      }
    }
    return this.#popHeap();
  }

  /** Removes every item `keep` rejects, in O(n). */
  filter(keep: (item: T) => boolean): void {
    this.#queue = (this.#queue.slice(this.#head) as T[]).filter(keep);
    this.#head = 0;
    const kept = this.#items.filter(keep);
    this.#items.length = 0;
    for (const item of kept) this.#pushHeap(item);
  }

  /** Every item, in no particular order. */
  values(): readonly T[] {
    return this.#head === this.#queue.length ? this.#items : [...this.#items, ...(this.#queue.slice(this.#head) as T[])];
  }

  #shift(): void {
    const q = this.#queue;
    q[this.#head++] = undefined;
    if (this.#head === q.length) {
      q.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= q.length) {
      // A queue never empty would keep its taken front for ever.
      this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
  }

  #pushHeap(item: T): void {
    const a = this.#items;
    // Sifts a hole up rather than swapping: no temporary arrays on the dispatch path.
    let i = a.length;
    a.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(item, a[parent]!)) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = item;
  }

  #popHeap(): T | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    const n = a.length;
    if (n > 0 && last !== undefined) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const m = r < n && this.#less(a[r]!, a[l]!) ? r : l;
        if (!this.#less(a[m]!, last)) break;
        a[i] = a[m]!;
        i = m;
      }
      a[i] = last;
    }
    return top;
  }
}
