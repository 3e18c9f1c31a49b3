import type { Logger } from 'pino';
import { SpindleError } from '../../errors.js';
import type { ChangeSet, HistoryChunk, SeriesDelta, StateCounts, TaskStore } from '../store.js';
import type { RunRecord, TaskRecord } from '../../task/record.js';
import type { LiveTask } from './live-task.js';
import { copyRecord } from './live-task.js';

export interface CommitHooks {
  /**
   * A batch carrying these tasks was written (called after its `onCommit` callbacks): one call per
   * batch where each change used to queue a callback of its own.
   */
  written(tasks: readonly LiveTask[]): void;
  /** Called once per failed write with every task whose uncommitted changes were undone. */
  rolledBack(tasks: LiveTask[]): void;
  /** A batch carrying these count deltas was written. */
  countsCommitted(deltas: Map<string, StateCounts>, paused: Map<string, number>): void;
  /** Undo every uncommitted count change. */
  countsRolledBack(): void;
}

interface OpenBatch {
  tasks: LiveTask[];
  deletes: TaskRecord[];
  runs: RunRecord[];
  history: HistoryChunk[];
  counts: Map<string, StateCounts>;
  paused: Map<string, number>;
  series: Map<string, SeriesDelta>;
  typePauses: Map<string, boolean>;
  done: Array<() => void>;
  failed: Array<(err: SpindleError) => void>;
}

const newBatch = (): OpenBatch => ({ tasks: [], deletes: [], runs: [], history: [], counts: new Map(), paused: new Map(), series: new Map(), typePauses: new Map(), done: [], failed: [] });

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

/**
 * Group commit: every change made while a batch is being written joins the next batch, so one
 * LevelDB write carries all transitions of a busy moment. Nothing is acknowledged or started
 * before its batch is written: callers queue that work with `onCommit`. One write is in flight at
 * a time, so batches land in order. A failed write undoes every change not yet written (the
 * supervisor re-derives its in-memory state) and fails their callers with STORE_UNAVAILABLE.
 */
export class CommitQueue {
  readonly #store: TaskStore;
  readonly #hooks: CommitHooks;
  readonly #log: Logger;
  #open: OpenBatch = newBatch();
  #writing: OpenBatch | null = null;
  #scheduled = false;
  #retryDelay = 0;
  #closed = false;

  constructor(store: TaskStore, hooks: CommitHooks, log: Logger) {
    this.#store = store;
    this.#hooks = hooks;
    this.#log = log;
  }

  /** Marks a task changed: its current record joins the next batch. */
  touch(task: LiveTask): void {
    if (!task.dirty) {
      task.dirty = true;
      this.#open.tasks.push(task);
    }
    this.#schedule();
  }

  /** The count deltas of the batch being built (changes of state add to them). */
  get countDeltas(): Map<string, StateCounts> {
    this.#schedule();
    return this.#open.counts;
  }

  /** The paused-count deltas of the batch being built. */
  get pausedDeltas(): Map<string, number> {
    this.#schedule();
    return this.#open.paused;
  }

  /** The per-minute run counts of the batch being built (src/api/series.ts). */
  get seriesDeltas(): Map<string, SeriesDelta> {
    return this.#open.series;
  }

  /** Deletes a stored task that is not in memory, with its runs and history (retention). */
  deleteTask(rec: TaskRecord): void {
    this.#open.deletes.push(rec);
    this.#schedule();
  }

  /** Stores a type's pause (true) or its resume (false). */
  setTypePaused(type: string, paused: boolean): void {
    this.#open.typePauses.set(type, paused);
    this.#schedule();
  }

  addRun(run: RunRecord): void {
    this.#open.runs.push(run);
    this.#schedule();
  }

  addHistory(chunk: HistoryChunk): void {
    this.#open.history.push(chunk);
    this.#schedule();
  }

  /** A task's runs added but not yet written (being written or waiting for the next batch). */
  unwrittenRuns(taskId: string): RunRecord[] {
    return this.#unwritten('runs', taskId);
  }

  /** A task's history chunks spilled but not yet written, in chunk order (batches land in order). */
  unwrittenHistory(taskId: string): HistoryChunk[] {
    return this.#unwritten('history', taskId);
  }

  #unwritten<K extends 'runs' | 'history'>(kind: K, taskId: string): Array<OpenBatch[K][number]> {
    const out: Array<OpenBatch[K][number]> = [];
    for (const batch of [this.#writing, this.#open]) {
      if (batch === null) continue;
      for (const item of batch[kind]) if (item.taskId === taskId) out.push(item);
    }
    return out;
  }

  /** Runs `done` once everything changed so far is written, or `failed` if that write fails. */
  onCommit(done: () => void, failed?: (err: SpindleError) => void): void {
    this.#open.done.push(done);
    if (failed) this.#open.failed.push(failed);
    this.#schedule();
  }

  /** Resolves when everything changed so far is written (or failed). */
  flushed(): Promise<void> {
    if (this.#isEmpty(this.#open) && this.#writing === null) return Promise.resolve();
    return new Promise((resolve) => this.onCommit(resolve, () => resolve()));
  }

  /** Writes what is pending and refuses further work. */
  async close(): Promise<void> {
    await this.flushed();
    this.#closed = true;
  }

  #isEmpty(b: OpenBatch): boolean {
    return b.tasks.length === 0 && b.deletes.length === 0 && b.runs.length === 0 && b.history.length === 0 && b.done.length === 0 && b.counts.size === 0
      && b.paused.size === 0 && b.series.size === 0 && b.typePauses.size === 0;
  }

  #schedule(): void {
    if (this.#scheduled || this.#writing !== null || this.#closed) return;
    this.#scheduled = true;
    // setImmediate lets every change of the current turn (a whole submitMany, a burst of run
    // ends) join one batch; a retry after a failed write waits instead of spinning.
    if (this.#retryDelay > 0) setTimeout(() => void this.#flush(), this.#retryDelay);
    else setImmediate(() => void this.#flush());
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    const batch = this.#open;
    if (this.#isEmpty(batch)) return;
    this.#open = newBatch();
    this.#writing = batch;
    const changes: ChangeSet = {
      tasks: [], runs: batch.runs, history: batch.history, counters: batch.counts, paused: batch.paused, series: batch.series, typePauses: batch.typePauses,
    };
    for (const t of batch.tasks) {
      const after = copyRecord(t.rec);
      changes.tasks.push({ before: t.base, after });
      t.base = after;
      t.dirty = false;
      t.inFlight++;
    }
    for (const rec of batch.deletes) changes.tasks.push({ before: rec, after: null });
    let error: SpindleError | null = null;
    try {
      await this.#store.commit(changes);
    } catch (err) {
      error = err instanceof SpindleError ? err : new SpindleError('STORE_UNAVAILABLE', `the store could not write: ${(err as Error).message}`, {}, err);
    }
    this.#writing = null;
    if (error === null) {
      this.#retryDelay = 0;
      for (let i = 0; i < batch.tasks.length; i++) {
        // changes.tasks starts with batch.tasks, in order; the deletes follow them.
        const t = batch.tasks[i]!;
        t.inFlight--;
        t.committed = changes.tasks[i]!.after;
      }
      this.#hooks.countsCommitted(batch.counts, batch.paused);
      for (const fn of batch.done) fn();
      this.#hooks.written(batch.tasks);
    } else {
      this.#retryDelay = Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, this.#retryDelay * 2));
      this.#log.error({ err: error }, 'store write failed; undoing unwritten changes');
      this.#fail(batch, error);
    }
    if (!this.#isEmpty(this.#open)) this.#schedule();
  }

  /** Undoes the failed batch and everything changed after it, which was built on top of it. */
  #fail(batch: OpenBatch, error: SpindleError): void {
    const later = this.#open;
    this.#open = newBatch();
    const undone = new Set<LiveTask>();
    for (const t of batch.tasks) {
      t.inFlight--;
      undone.add(t);
    }
    for (const t of later.tasks) undone.add(t);
    for (const t of undone) {
      t.dirty = false;
      t.base = t.committed;
      if (t.committed !== null) t.rec = copyRecord(t.committed);
    }
    this.#hooks.countsRolledBack();
    this.#hooks.rolledBack([...undone]);
    for (const fn of [...batch.failed, ...later.failed]) fn(error);
  }
}
