import type { PoolClient, QueryResultRow } from 'pg';
import type { TaskWrite } from './task-write.js';

/**
 * The statement an op starts with, when it can be said before the op runs: it selects the
 * loaded columns of rows.ts and locks them; its values come from the transaction (its `now`).
 */
export interface Read {
  /** Names the read (and, joined, the statement it is part of: see firstReads). */
  name: string;
  text: string;
  values(w: TaskWrite): unknown[];
  /** Whether the op has anything to read in this transaction (absent: always). */
  wanted?(w: TaskWrite): boolean;
  /** The rows were read for the op, before any op of the transaction ran. */
  fetched?(w: TaskWrite, rows: QueryResultRow[]): void;
}

/**
 * One piece of work in a shared transaction: reads, decides into `w`, resolves with its answer.
 * `rows`: what its `read` selected, when the transaction read it for the op.
 */
export type Op<T> = ((client: PoolClient, w: TaskWrite, rows?: QueryResultRow[]) => Promise<T>) & { read?: Read };

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
      const first = await firstReads(client, w, batch.map((b) => b.op));
      const out: unknown[] = [];
      for (const [i, b] of batch.entries()) out.push(await b.op(client, w, first.get(i)));
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

/**
 * The first statements of a transaction's ops in one round trip: a run end's fenced read and the
 * claim of the slot it freed, which come together, are one statement (each a WITH query, its rows
 * told apart by a column). At most one read of each name: two claims in one statement would not
 * see each other's locks. With fewer than two, each op reads for itself. Resolves with the rows
 * per op index.
 */
async function firstReads(client: PoolClient, w: TaskWrite, ops: ReadonlyArray<Op<unknown>>): Promise<Map<number, QueryResultRow[]>> {
  const picked: Array<[number, Read]> = [];
  const names = new Set<string>();
  for (const [i, op] of ops.entries()) {
    if (op.read === undefined || names.has(op.read.name) || op.read.wanted?.(w) === false) continue;
    names.add(op.read.name);
    picked.push([i, op.read]);
  }
  const out = new Map<number, QueryResultRow[]>();
  if (picked.length < 2) return out;
  const values: unknown[] = [];
  const parts = picked.map(([, read], k) => {
    const offset = values.length;
    values.push(...read.values(w));
    return `r${k} AS (${read.text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)})`;
  });
  const text = `WITH ${parts.join(', ')} ${picked.map((_, k) => `SELECT ${k} AS read_index, * FROM r${k}`).join(' UNION ALL ')}`;
  const { rows } = await client.query({ name: `spindle_reads_${picked.map(([, r]) => r.name).join('_')}`, text, values });
  for (const [i] of picked) out.set(i, []);
  // UNION ALL of WITH queries: each one's rows in its own order, one after the other.
  for (const row of rows) out.get(picked[row.read_index as number]![0])!.push(row);
  for (const [i, read] of picked) read.fetched?.(w, out.get(i)!);
  return out;
}
