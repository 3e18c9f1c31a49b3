import type { TaskStore } from '../store.js';
import { TERMINAL_STATES } from '../../task/state.js';
import type { LiveTask } from './live-task.js';

export interface KeyHost {
  store: TaskStore;
  /** Brings a stored task into memory for a change (one object per id). */
  load(id: string): Promise<LiveTask | undefined>;
  /** Frees the task's key in the next batch (it leaves memory once written). */
  release(t: LiveTask, now: number): void;
  /** A task loaded but not changed: it may leave memory. */
  idle(t: LiveTask): void;
}

/**
 * Idempotency keys (SPEC §6): a task holds its key while it is live and, once it ended, for its key
 * retention, so a client that retries a submit after the task finished gets that task back rather
 * than a second one. The store's `k!` index names the holder; `kx!` orders ended holders by the end
 * of their hold, so expired holds are released by an index range, never by a scan.
 *
 * A hold is over at `keyExpiresAt` whether or not the sweep has released it yet: the submit that
 * finds an expired holder releases it in the batch that creates the new task (release first, so the
 * store deletes the old `k!` entry before it writes the new one).
 */
export class IdempotencyKeys {
  readonly #host: KeyHost;
  /** Key → the task in memory that the index names for it (a cache of `k!`). */
  readonly #held = new Map<string, LiveTask>();
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(host: KeyHost) {
    this.#host = host;
  }

  /** Serialises submits per key, so two racing submits create one task. */
  async withKeys<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    if (keys.length === 0) return fn();
    const prior = keys.map((k) => this.#locks.get(k)).filter((p) => p !== undefined);
    const run = Promise.allSettled(prior).then(fn);
    const tail = run.catch(() => undefined);
    for (const k of keys) this.#locks.set(k, tail);
    try {
      return await run;
    } finally {
      for (const k of keys) if (this.#locks.get(k) === tail) this.#locks.delete(k);
    }
  }

  /**
   * The tasks holding `keys` at one instant, the one `decide` returns once all are in memory. No
   * await separates that instant from the caller's creating new tasks, and a hold found run out
   * is released first, so its batch frees the key before a new task takes it. The tasks found are
   * pinned meanwhile: eviction between two lookups would leave one changed outside memory.
   */
  async holders(keys: readonly string[], decide: () => number): Promise<{ at: number; existing: Map<string, LiveTask> }> {
    const found: LiveTask[] = [];
    const existing = new Map<string, LiveTask>();
    try {
      for (const key of keys) {
        const t = await this.find(key);
        if (t === undefined) continue;
        t.pins++;
        found.push(t);
      }
      const at = decide();
      for (const t of found) {
        if (this.holds(t, at)) existing.set(t.rec.key!, t);
        else this.release(t, at);
      }
      return { at, existing };
    } finally {
      // A holder returned is only read from here on, so it may leave memory too (or a refused
      // resubmit would keep it there).
      for (const t of found) {
        t.pins--;
        this.#host.idle(t);
      }
    }
  }

  /** The task the index names for `key`, brought into memory; whether it still holds is `holds`. */
  async find(key: string): Promise<LiveTask | undefined> {
    const cached = this.#held.get(key);
    if (cached !== undefined) return cached;
    const id = await this.#host.store.findKey(key);
    if (id === undefined) return undefined;
    const t = await this.#host.load(id);
    if (t === undefined) return undefined;
    if (t.rec.key !== key) {
      this.#host.idle(t);
      return undefined;
    }
    this.#held.set(key, t);
    return t;
  }

  /** Whether the task holds its key at `now` (live, or ended less than its key retention ago). */
  holds(t: LiveTask, now: number): boolean {
    const rec = t.rec;
    if (rec.key === null) return false;
    if (!TERMINAL_STATES.has(rec.state)) return true;
    return rec.keyExpiresAt !== null && rec.keyExpiresAt > now;
  }

  /** A task just created with a key holds it. */
  taken(t: LiveTask): void {
    if (t.rec.key !== null) this.#held.set(t.rec.key, t);
  }

  /** The task left memory (or was never written): drop it from the cache. */
  forget(t: LiveTask): void {
    if (t.rec.key !== null && this.#held.get(t.rec.key) === t) this.#held.delete(t.rec.key);
  }

  /** Frees the key of an ended task whose hold ran out by `now`. True when it did. */
  release(t: LiveTask, now: number): boolean {
    const rec = t.rec;
    if (!TERMINAL_STATES.has(rec.state) || rec.keyExpiresAt === null || rec.keyExpiresAt > now) return false;
    this.#host.release(t, now);
    return true;
  }

  /**
   * Releases holds that ran out by `now`, at most `limit`, read from the `kx!` index. Returns how
   * many index entries it read (a full page means there may be more).
   */
  async sweep(now: number, limit: number): Promise<{ read: number; released: number }> {
    const ids = await this.#host.store.keysExpired(now, limit);
    let released = 0;
    for (const id of ids) {
      const t = await this.#host.load(id);
      if (t === undefined) continue;
      // No lock needed: a submit decides on a loaded task without awaiting, so it sees the hold
      // whole, before or after this release (and releasing twice is a no-op).
      if (this.release(t, now)) released++;
      else this.#host.idle(t);
    }
    return { read: ids.length, released };
  }
}
