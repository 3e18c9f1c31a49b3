import { wellFormed } from '../../task/well-formed.js';
import type { TaskRecord } from '../../task/record.js';
import type { TaskStore } from '../store.js';
import type { LiveTask } from './live-task.js';
import { newLive } from './live-task.js';

/**
 * The tasks held in memory: running ones, those in the due window, and those changed and not yet
 * written. Every other task lives only in the store. One object per id, so a change made through
 * any path (a claim, a completion, a control call, a submit's key) lands on the same record.
 */
export class TaskCache {
  readonly #store: TaskStore;
  readonly #live = new Map<string, LiveTask>();
  readonly #loading = new Map<string, Promise<LiveTask | undefined>>();
  /** Tasks deleted whose batch is not written yet: the store still has them, but they are gone. */
  readonly #deleting = new Set<string>();
  /** A task left memory (for caches keyed by it). */
  readonly #evicted: (t: LiveTask) => void;

  constructor(store: TaskStore, evicted: (t: LiveTask) => void) {
    this.#store = store;
    this.#evicted = evicted;
  }

  get(id: string): LiveTask | undefined {
    return this.#live.get(id);
  }

  has(id: string): boolean {
    return this.#live.has(id);
  }

  /** Holds a record read from the store (the one in memory wins when there is one). */
  adopt(rec: TaskRecord): LiveTask {
    let t = this.#live.get(rec.id);
    if (t === undefined) {
      t = newLive(rec, { stored: true });
      this.#live.set(rec.id, t);
    }
    return t;
  }

  /** Holds a task no batch has written yet. */
  hold(t: LiveTask): void {
    this.#live.set(t.rec.id, t);
  }

  /** The latest version of a task: in memory if changed or running, else the store's. */
  async read(id: string): Promise<TaskRecord | undefined> {
    if (!plausibleId(id) || this.#deleting.has(id)) return undefined;
    return this.#live.get(id)?.rec ?? (await this.#store.getTask(id));
  }

  async readMany(ids: readonly string[]): Promise<Array<TaskRecord | undefined>> {
    const stored = await this.#store.getTasks(ids);
    return ids.map((id, i) => (this.#deleting.has(id) ? undefined : this.#live.get(id)?.rec ?? stored[i]));
  }

  /** Brings a stored task into memory (one load per id at a time) for a change. */
  async load(id: string): Promise<LiveTask | undefined> {
    if (!plausibleId(id) || this.#deleting.has(id)) return undefined;
    const held = this.#live.get(id);
    if (held !== undefined) return held;
    let loading = this.#loading.get(id);
    if (loading === undefined) {
      loading = this.#store.getTask(id).then(
        (rec) => {
          this.#loading.delete(id);
          return rec === undefined || this.#deleting.has(id) ? undefined : this.adopt(rec);
        },
        (err: unknown) => {
          this.#loading.delete(id);
          throw err;
        },
      );
      this.#loading.set(id, loading);
    }
    // A load is followed at once by its change (no await between), so it cannot be evicted first.
    return loading;
  }

  /** Drops a task from memory once nothing needs it there: the store has it. */
  evictIfIdle(t: LiveTask): void {
    if (t.dirty || t.inFlight > 0 || t.dueToken !== 0 || t.pins > 0 || t.rec.state === 'running' || t.committed === null) return;
    this.drop(t);
  }

  /**
   * The task is being deleted: it leaves memory now and reads as gone until `deleted` says its
   * batch is written (so nothing loads the stored copy and writes it back meanwhile).
   */
  deleting(t: LiveTask): void {
    this.#deleting.add(t.rec.id);
    this.drop(t);
  }

  isDeleting(id: string): boolean {
    return this.#deleting.has(id);
  }

  /**
   * The task in memory for `t`'s id after an await: `t` itself, held again if it was evicted idle
   * meanwhile (the store holds what it holds), or the copy loaded since, which is newer.
   */
  reinstate(t: LiveTask): LiveTask {
    const live = this.#live.get(t.rec.id);
    if (live !== undefined) return live;
    this.#live.set(t.rec.id, t);
    return t;
  }

  /** The delete's batch was written (or failed: then the task is back as the store holds it). */
  deleted(id: string): void {
    this.#deleting.delete(id);
  }

  /** Forgets a task at once (evicted, or never written after a failed batch). */
  drop(t: LiveTask): void {
    if (this.#live.get(t.rec.id) !== t) return;
    this.#live.delete(t.rec.id);
    this.#evicted(t);
  }
}

function plausibleId(id: string): boolean {
  if (typeof id !== 'string' || id.length === 0 || id.length > 64) return false;
  wellFormed(id, 'id');
  return true;
}
