import type { PoolClient } from 'pg';
import type { TaskWrite } from './task-write.js';

/** One piece of work in a shared transaction: reads, decides into `w`, resolves with its answer. */
export type Op<T> = (client: PoolClient, w: TaskWrite) => Promise<T>;

export interface GroupCommitOptions {
  /** Runs `fn` in one transaction, writes `w`, and resolves once committed. */
  write<T>(fn: Op<T>): Promise<T>;
}

/**
 * Shared transactions in flight at most; work arriving meanwhile waits and goes in the next. A
 * claim of a task just due waits here for a free one, and each holds a WAL flush (~10 ms on a
 * plain disk), which the server does for concurrent commits together: 4 rather than 2 cut the
 * p99 lateness of bench/pg-precision.ts by a third to a half. The pool (10) keeps room for
 * submits, reads and leases.
 */
const MAX_INFLIGHT = 4;

/**
 * Claims and run ends of one moment in one transaction: a worker's run end and the claim of its next
 * run usually arrive together, and one commit (one WAL flush) then carries both, where two would
 * take twice as long. Only work whose decisions do not refuse goes here: a refusal rolls back the
 * whole transaction, so control calls and submits keep their own.
 */
export class GroupCommit {
  readonly #o: GroupCommitOptions;
  #waiting: Array<{ op: Op<unknown>; resolve(v: unknown): void; reject(err: unknown): void }> = [];
  #inflight = 0;
  #queued = false;
  #idle: Array<() => void> = [];

  constructor(options: GroupCommitOptions) {
    this.#o = options;
  }

  run<T>(op: Op<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({ op, resolve: resolve as (v: unknown) => void, reject });
      // After the current microtasks: a run end and the claim its free slot makes come in one turn.
      if (!this.#queued) {
        this.#queued = true;
        queueMicrotask(() => {
          this.#queued = false;
          this.#drain();
        });
      }
    });
  }

  /** Resolves once everything given so far is written (or failed). */
  flushed(): Promise<void> {
    if (this.#inflight === 0 && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #drain(): void {
    if (this.#inflight >= MAX_INFLIGHT || this.#waiting.length === 0) return;
    const batch = this.#waiting;
    this.#waiting = [];
    this.#inflight++;
    this.#o.write(async (client, w) => {
      const out: unknown[] = [];
      for (const b of batch) out.push(await b.op(client, w));
      return out;
    }).then(
      (out) => batch.forEach((b, i) => b.resolve(out[i])),
      (err: unknown) => { for (const b of batch) b.reject(err); },
    ).finally(() => {
      this.#inflight--;
      this.#drain();
      if (this.#inflight === 0 && this.#waiting.length === 0) for (const fn of this.#idle.splice(0)) fn();
    });
  }
}
