import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { SpindleEvent } from '../../api/events.js';
import { minuteOf, MINUTE_MS, SERIES_RETENTION_MS } from '../../api/series.js';
import { SpindleError, taskNotFound } from '../../errors.js';
import type { RunRecord, TaskRecord } from '../../task/record.js';
import type { TaskState } from '../../task/state.js';
import { TERMINAL_STATES } from '../../task/state.js';
import { heldKeyOf, pausedOf } from '../keys.js';
import { countRun } from '../run-series.js';
import type { TaskStore } from '../store.js';
import type {
  Claim, ClaimRequest, Completion, CompletionResult, Decide, SourceSignals, SourceStart, SubmitRequest, Submitted, TaskReader,
  TaskSource,
} from '../task-source.js';
import { CommitQueue } from './commit-queue.js';
import { DueDispatch } from './due-dispatch.js';
import { IdempotencyKeys } from './idempotency-keys.js';
import type { LiveTask } from './live-task.js';
import { copyRecord, newLive } from './live-task.js';
import { LevelReader } from './level-reader.js';
import { checkQueueLimits } from './queue-limits.js';
import { PausedCounts } from './run-counts.js';
import { StateCountTable } from './state-counts.js';
import { TaskCache } from './task-cache.js';
import { DecisionContext, SubmitContext } from './write-contexts.js';

const HISTORY_SPILL_AT = 64;
const HISTORY_CHUNK = 32;
const RECOVERY_PAGE = 500;

const NO_KEYS: readonly string[] = Object.freeze([]);

/** The submit's idempotency keys, each once, sorted; no arrays made per task (most have no key). */
function keysOf(tasks: SubmitRequest['tasks']): readonly string[] {
  let keys: Set<string> | null = null;
  for (const t of tasks) if (t.key !== null) (keys ??= new Set()).add(t.key);
  return keys === null ? NO_KEYS : [...keys].sort();
}

export interface LevelSourceOptions {
  store: TaskStore;
  clock: Clock;
  log: Logger;
  /** Dispatchable tasks held in memory at most (the rest are paged from the store's due index). */
  windowSize: number;
}

/**
 * The task source over the embedded LevelDB store. This process is the only one on the store
 * (LevelDB's lock is the lease), so fences hold by construction and every decision is applied to
 * the task in memory and written by group commit: one batch carries every change of a busy moment,
 * and nothing is answered, started or announced before its batch is written. Only running tasks,
 * the due window and unwritten changes are held in memory.
 */
export class LevelSource implements TaskSource {
  readonly reader: TaskReader;
  readonly #o: LevelSourceOptions;
  readonly #cache: TaskCache;
  readonly #counts = new StateCountTable();
  readonly #paused = new PausedCounts();
  readonly #commit: CommitQueue;
  readonly #keys: IdempotencyKeys;
  readonly #due: DueDispatch;
  #signals: SourceSignals | null = null;
  /** A decision's event, for this runtime's listeners once its batch is written (one function for every decision). */
  readonly #announce = (event: SpindleEvent): void => this.#commit.onCommit(() => this.#signals?.emit(event));
  #seriesSweptAt = 0;
  #closed = false;
  /** Types an operator paused, as written. */
  #typePauses = new Set<string>();

  constructor(options: LevelSourceOptions) {
    this.#o = options;
    this.#cache = new TaskCache(options.store, (t) => {
      this.#keys.forget(t);
      this.#due.forget(t);
    });
    this.#commit = new CommitQueue(options.store, {
      countsCommitted: (deltas, paused) => {
        this.#counts.committed(deltas);
        this.#paused.committed(paused);
      },
      countsRolledBack: () => {
        this.#counts.rollBack();
        this.#paused.rollBack();
      },
      rolledBack: (tasks) => this.#rolledBack(tasks),
      // A changed task may leave memory once its change is written (evictIfIdle says whether).
      written: (tasks) => {
        for (const t of tasks) this.#cache.evictIfIdle(t);
      },
    }, options.log);
    this.#keys = new IdempotencyKeys({
      store: options.store,
      load: (id) => this.#cache.load(id),
      release: (t, now) => {
        // A task deleted meanwhile took its key with it.
        if (!this.#cache.isDeleting(t.rec.id)) this.#apply(t, (rec) => { rec.keyExpiresAt = null; rec.updatedAt = now; }, now);
      },
      idle: (t) => this.#cache.evictIfIdle(t),
    });
    this.#due = new DueDispatch({
      store: options.store, cache: this.#cache, commit: this.#commit, clock: options.clock, log: options.log,
      windowSize: options.windowSize, paused: () => this.#typePauses, apply: (t, decide, now) => this.#apply(t, decide, now),
    });
    this.reader = new LevelReader({ store: options.store, cache: this.#cache, commit: this.#commit, counts: this.#counts, paused: this.#paused, due: this.#due });
  }

  async start(options: SourceStart, signals: SourceSignals): Promise<void> {
    this.#signals = signals;
    this.#counts.load(await this.#o.store.counters());
    this.#paused.load(await this.#o.store.pausedCounts());
    this.#typePauses = new Set(await this.#o.store.typePauses());
    await this.#recover('running', options.abandoned);
    await this.#recover('spooled', options.place);
    for (const type of this.#counts.types()) {
      if (options.types.has(type) || this.#counts.open(type) === 0) continue;
      this.#o.log.warn({ type }, 'task type no longer has a module; its open tasks fail as invalid');
      // Interrupted runs of such a type were lost above; the rest can never be claimed.
      for (const state of ['spooled', 'queued'] as const) await this.#recover(state, options.orphaned, type);
    }
    await this.#commit.flushed();
    await this.#due.start(() => this.#signals?.wake());
  }

  async submit(request: SubmitRequest): Promise<Submitted[]> {
    this.#assertOpen();
    const keys = keysOf(request.tasks);
    return this.#keys.withKeys(keys, async () => {
      const { at, existing } = await this.#keys.holders(keys, () => {
        this.#assertOpen();
        return this.#o.clock.now();
      });
      // Checked after the awaits above and before any task is created, in one synchronous step, so
      // submits waiting on the store together cannot each pass the check on the same count.
      checkQueueLimits(request, existing, this.#counts);
      // Every entry is decided before any is stored, so a conflict on the last one stores nothing.
      const out: Submitted[] = [];
      const waitFor: LiveTask[] = [];
      const built: TaskRecord[] = [];
      const newByKey = new Map<string, TaskRecord>();
      const context = new SubmitContext(at, this.#signals);
      for (const task of request.tasks) {
        const held = task.key === null ? undefined : existing.get(task.key);
        const holder = held?.rec ?? (task.key === null ? undefined : newByKey.get(task.key));
        if (holder !== undefined) {
          const err = task.conflict(holder);
          if (err !== null) throw err;
          out.push({ rec: holder, existing: true });
          if (held !== undefined) waitFor.push(held);
          continue;
        }
        const rec = task.create(context);
        if (task.key !== null) newByKey.set(task.key, rec);
        built.push(rec);
        out.push({ rec, existing: false });
      }
      for (const rec of built) {
        const t = newLive(rec, { stored: false });
        this.#cache.hold(t);
        this.#keys.taken(t);
        this.#stored(t, 'none', null, false, null, at);
        waitFor.push(t);
      }
      for (const fn of context.afterWrites) this.#commit.onCommit(fn);
      await this.#written(waitFor);
      return out.map(({ rec, existing: found }) => ({ rec: this.#storedVersion(rec), existing: found }));
    });
  }

  claim(request: ClaimRequest): Promise<Claim[]> {
    if (this.#closed) return Promise.resolve([]);
    const claims = this.#due.claim(request);
    if (claims.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => this.#commit.onCommit(() => resolve(claims), reject));
  }

  now(): number {
    return this.#o.clock.now();
  }

  async complete(items: readonly Completion[]): Promise<CompletionResult[]> {
    this.#assertOpen();
    const tasks = items.map((i) => this.#cache.get(i.taskId));
    // A claimed run's task stays in memory while it runs; a load only for one that was not (a retry after a failed write).
    for (let i = 0; i < items.length; i++) tasks[i] ??= await this.#cache.load(items[i]!.taskId);
    const now = this.#o.clock.now();
    const results = items.map((item, i): CompletionResult => {
      const t = tasks[i];
      const rec = t?.rec;
      if (t === undefined || rec === undefined || rec.state !== 'running' || rec.lastRun?.run !== item.run) {
        if (t !== undefined) this.#cache.evictIfIdle(t);
        return 'lost';
      }
      this.#apply(t, item.decide, now);
      return 'ok';
    });
    await this.#written(tasks.filter((t): t is LiveTask => t !== undefined));
    return results;
  }

  async update(id: string, decide: Decide): Promise<TaskRecord> {
    this.#assertOpen();
    const loaded = await this.#cache.load(id);
    // A delete that loaded it first may have taken it out of memory meanwhile: it is gone.
    if (loaded === undefined || this.#cache.isDeleting(id)) throw taskNotFound(id);
    // Another caller of the same load may have found it idle and evicted it meanwhile.
    const t = this.#cache.reinstate(loaded);
    const now = this.#o.clock.now();
    const running = t.rec.state === 'running' ? t.rec.lastRun : null;
    try {
      this.#apply(t, decide, now);
    } catch (err) {
      this.#cache.evictIfIdle(t);
      throw err;
    }
    if (running !== null && t.rec.state !== 'running') {
      const signals = this.#signals;
      this.#commit.onCommit(() => signals?.abort(t.rec.id, running.run, 'cancel'));
    }
    await this.#written([t]);
    return this.#storedVersion(t.rec);
  }

  async delete(id: string, check: (rec: TaskRecord, now: number) => void): Promise<void> {
    this.#assertOpen();
    const t = await this.#cache.load(id);
    if (t === undefined) throw taskNotFound(id);
    // Runs and history a pending write spills land after a delete in the same batch: let it land first.
    t.pins++;
    try {
      while (t.dirty || t.inFlight > 0) await this.#commit.flushed();
    } finally {
      t.pins--;
    }
    try {
      check(t.rec, this.#o.clock.now());
    } catch (err) {
      this.#cache.evictIfIdle(t);
      throw err;
    }
    const rec = copyRecord(t.rec);
    this.#cache.deleting(t);
    this.#commit.deleteTask(rec);
    this.#counts.add(rec.type, rec.state, -1, this.#commit.countDeltas);
    await new Promise<void>((resolve, reject) => this.#commit.onCommit(
      () => { this.#cache.deleted(id); resolve(); },
      (err) => { this.#cache.deleted(id); reject(err); },
    ));
  }

  /** None: a task kept for no time is deleted by the next sweep, with what else expired. */
  readonly removedAtEnd = 0;

  pausedTypes(): ReadonlySet<string> {
    return this.#typePauses;
  }

  async setTypePaused(type: string, paused: boolean): Promise<void> {
    this.#assertOpen();
    this.#commit.setTypePaused(type, paused);
    await new Promise<void>((resolve, reject) => this.#commit.onCommit(resolve, reject));
    if (paused) this.#typePauses.add(type);
    else this.#typePauses.delete(type);
    this.#due.typePaused(type, paused);
  }

  async sweep(limit: number): Promise<{ removed: number; more: boolean }> {
    if (this.#closed) return { removed: 0, more: false };
    const now = this.#o.clock.now();
    const keys = await this.#keys.sweep(now, limit);
    const ids = await this.#o.store.expired(now, limit);
    const recs = await this.#o.store.getTasks(ids.filter((id) => !this.#cache.has(id)));
    let removed = 0;
    for (const rec of recs) {
      // A task in memory may be changing (its key being released): it goes at a later sweep. So
      // does one still holding its key: its delete must not race a new task taking the key.
      if (rec === undefined || !TERMINAL_STATES.has(rec.state) || this.#cache.has(rec.id) || heldKeyOf(rec) !== null) continue;
      this.#commit.deleteTask(rec);
      this.#counts.add(rec.type, rec.state, -1, this.#commit.countDeltas);
      removed++;
    }
    await new Promise<void>((resolve, reject) => this.#commit.onCommit(resolve, reject));
    // Old per-minute rows go at most once a minute: the sweep runs far more often.
    if (now - this.#seriesSweptAt >= MINUTE_MS) {
      this.#seriesSweptAt = now;
      await this.#o.store.sweepSeries(minuteOf(now - SERIES_RETENTION_MS));
    }
    return { removed, more: (ids.length === limit && removed > 0) || (keys.read === limit && keys.released > 0) };
  }

  flushed(): Promise<void> {
    return this.#commit.flushed();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#due.close();
    await this.#commit.close();
  }

  /**
   * Applies a decision to a task in memory and queues the result for the next batch: the counts
   * move with its state, a replaced run is kept under its own key, history past the record's
   * share spills to the store, and the due window follows the new due time.
   */
  #apply<T>(t: LiveTask, decide: Decide<T>, now: number): T {
    const rec = t.rec;
    const state = rec.state;
    const run = rec.lastRun;
    const paused = pausedOf(rec);
    const due = rec.nextRunAt;
    // Only this runtime hears a LevelDB store's events: nothing to build while nobody listens.
    const out = decide(rec, new DecisionContext(now, this.#signals?.listening() ?? false, this.#commit, this.#due, t, this.#announce));
    this.#stored(t, state, run, paused, due, now);
    return out;
  }

  /** Stores a decision: what it changed is read against the state it left, the run it replaced, whether it was paused and when it was due. */
  #stored(t: LiveTask, stateWas: TaskState, runWas: RunRecord | null, pausedWas: boolean, dueWas: number | null, now: number): void {
    const rec = t.rec;
    this.#counts.move(rec.type, stateWas, rec.state, this.#commit.countDeltas);
    const paused = pausedOf(rec);
    if (paused !== pausedWas) this.#paused.add(rec.type, paused ? 1 : -1, this.#commit.pausedDeltas);
    countRun(this.#commit.seriesDeltas, rec, runWas, dueWas, now);
    if (runWas !== null && rec.lastRun?.run !== runWas.run) this.#commit.addRun(runWas);
    if (rec.history.length >= HISTORY_SPILL_AT) {
      this.#commit.addHistory({ taskId: rec.id, chunk: rec.historyChunks, entries: rec.history.splice(0, HISTORY_CHUNK) });
      rec.historyChunks++;
    }
    this.#commit.touch(t);
    this.#due.reindex(t, now);
  }

  /** Resolves once the tasks' current changes are written; rejects with STORE_UNAVAILABLE if not. */
  #written(tasks: readonly LiveTask[]): Promise<void> {
    for (const t of tasks) t.pins++;
    return new Promise<void>((resolve, reject) => {
      const unpin = (): void => {
        for (const t of tasks) {
          t.pins--;
          this.#cache.evictIfIdle(t);
        }
      };
      this.#commit.onCommit(() => { unpin(); resolve(); }, (err) => { unpin(); reject(err); });
    });
  }

  /**
   * The version of a task the store holds: an answer must not show a change made after its own
   * write (a claim already starting the task in the next batch).
   */
  #storedVersion(rec: TaskRecord): TaskRecord {
    return this.#cache.get(rec.id)?.committed ?? rec;
  }

  /** A failed write undid these tasks' unwritten changes: bring memory back in step. */
  #rolledBack(tasks: LiveTask[]): void {
    const now = this.#o.clock.now();
    for (const t of tasks) {
      if (t.committed === null) {
        // Never written: the task does not exist.
        this.#due.forget(t);
        this.#cache.drop(t);
        continue;
      }
      this.#due.reindex(t, now);
      this.#commit.onCommit(() => this.#cache.evictIfIdle(t));
    }
  }

  async #recover(state: 'running' | 'spooled' | 'queued', decide: Decide, type?: string): Promise<void> {
    let cursor: string | undefined;
    for (;;) {
      const ids = await this.#o.store.idsInState(state, RECOVERY_PAGE, cursor, type);
      if (ids.length === 0) return;
      cursor = ids[ids.length - 1];
      const recs = await this.#o.store.getTasks(ids);
      const now = this.#o.clock.now();
      for (const rec of recs) if (rec !== undefined) this.#apply(this.#cache.adopt(rec), decide, now);
      await this.#commit.flushed();
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new SpindleError('SHUTTING_DOWN', 'the runtime is shutting down; retry once it is back');
  }
}
