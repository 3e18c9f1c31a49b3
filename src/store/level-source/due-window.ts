import type { DueEntry } from '../store.js';
import { Heap } from './heap.js';
import type { LiveTask } from './live-task.js';

interface Entry {
  task: LiveTask;
  due: number;
  priority: number;
  /** The task's id, here so the heaps' comparisons need not reach through task.rec. */
  id: string;
  token: number;
}

const beforeKey = (aDue: number, aId: string, bDue: number, bId: string): boolean =>
  aDue < bDue || (aDue === bDue && aId < bId);

const byDue = (a: Entry, b: Entry): boolean => beforeKey(a.due, a.id, b.due, b.id);
// Among tasks already due, higher priority first, then the earlier due time.
const byPriority = (a: Entry, b: Entry): boolean =>
  a.priority > b.priority || (a.priority === b.priority && byDue(a, b));

/**
 * The in-memory part of the due index: every dispatchable task whose (due, id) is at or before
 * `horizon`. Tasks past the horizon stay only in the store until the window pages them in, so a
 * million future tasks cost no memory. Entries are invalidated lazily through `dueToken`.
 */
export class DueWindow {
  readonly #future = new Heap<Entry>(byDue);
  readonly #ready = new Map<string, Heap<Entry>>();
  #token = 0;
  #size = 0;
  /** Everything in the store's due index up to here is in memory; null: nothing yet. */
  #horizon: DueEntry | null = null;
  #complete = false;

  get size(): number {
    return this.#size;
  }

  get complete(): boolean {
    return this.#complete;
  }

  get horizon(): DueEntry | null {
    return this.#horizon;
  }

  /** Whether a due key falls inside the window (so its task must be held in memory). */
  covers(due: number, id: string): boolean {
    if (this.#complete) return true;
    const h = this.#horizon;
    return h !== null && !beforeKey(h.due, h.id, due, id);
  }

  /** The page read up to `last` (or to the end of the index when `complete`). */
  extend(last: DueEntry | null, complete: boolean): void {
    if (last !== null) this.#horizon = last;
    this.#complete = complete;
  }

  add(task: LiveTask, due: number, now: number): void {
    if (task.dueToken !== 0) this.remove(task);
    const entry: Entry = { task, due, priority: task.rec.priority, id: task.rec.id, token: ++this.#token };
    task.dueToken = entry.token;
    this.#size++;
    if (due <= now) this.#readyHeap(task.rec.type).push(entry);
    else this.#future.push(entry);
  }

  remove(task: LiveTask): void {
    if (task.dueToken === 0) return;
    task.dueToken = 0;
    this.#size--;
  }

  /** The earliest due time not yet reached, for the timer. */
  nextDue(): number | null {
    const e = this.#peekValid(this.#future);
    return e === undefined ? null : e.due;
  }

  /** Moves every entry due by `now` to its type's ready heap. */
  promote(now: number): void {
    for (;;) {
      const e = this.#peekValid(this.#future);
      if (e === undefined || e.due > now) return;
      this.#future.pop();
      this.#readyHeap(e.task.rec.type).push(e);
    }
  }

  /** Takes the best due task among the types `canRun` allows: highest priority, then earliest. */
  take(canRun: (type: string) => boolean): LiveTask | undefined {
    let best: Entry | undefined;
    let bestHeap: Heap<Entry> | undefined;
    for (const [type, heap] of this.#ready) {
      const e = this.#peekValid(heap);
      if (e === undefined || !canRun(type)) continue;
      if (best === undefined || byPriority(e, best)) {
        best = e;
        bestHeap = heap;
      }
    }
    if (best === undefined || bestHeap === undefined) return undefined;
    bestHeap.pop();
    this.remove(best.task);
    return best.task;
  }

  /**
   * Keeps the `keep` nearest future entries and pulls the horizon back to the last of them; the
   * rest are forgotten (they are in the store). Returns the tasks let go.
   */
  shrink(keep: number): LiveTask[] {
    // Cheap refusal first: pump() asks on every turn while the window is large with due tasks.
    if (this.#future.size <= keep) return [];
    this.#future.filter((e) => e.token === e.task.dueToken);
    if (this.#future.size <= keep) return [];
    const valid = [...this.#future.values()].sort((a, b) => (byDue(a, b) ? -1 : 1));
    const dropped = valid.slice(keep);
    for (const e of dropped) this.remove(e.task);
    const last = valid[keep - 1];
    this.#horizon = last === undefined ? null : { due: last.due, id: last.task.rec.id };
    this.#complete = false;
    this.#future.filter((e) => e.token === e.task.dueToken);
    return dropped.map((e) => e.task);
  }

  /**
   * Forgets every entry of a type (an operator paused it): its tasks stay only in the store, and
   * the window's room goes to types that can run. Returns the tasks let go. The window no longer
   * holds all it covers, so a resume must reopen() it.
   */
  dropType(type: string): LiveTask[] {
    const dropped: LiveTask[] = [];
    const drop = (e: Entry): boolean => {
      if (e.token !== e.task.dueToken) return false;
      if (e.task.rec.type !== type) return true;
      this.remove(e.task);
      dropped.push(e.task);
      return false;
    };
    this.#ready.get(type)?.filter(drop);
    this.#future.filter(drop);
    return dropped;
  }

  /** Pages again from the start of the due index (a type was resumed: its tasks are only in the store). */
  reopen(): void {
    this.#horizon = null;
    this.#complete = false;
  }

  #readyHeap(type: string): Heap<Entry> {
    let heap = this.#ready.get(type);
    if (heap === undefined) {
      heap = new Heap<Entry>(byPriority);
      this.#ready.set(type, heap);
    }
    return heap;
  }

  #peekValid(heap: Heap<Entry>): Entry | undefined {
    for (;;) {
      const e = heap.peek();
      if (e === undefined || e.token === e.task.dueToken) return e;
      heap.pop();
    }
  }
}
