import type { PoolClient } from 'pg';
import type { Completion, CompletionResult } from '../task-source.js';
import type { Leases } from './leases.js';
import { loaded, LOADED_COLUMNS, type LoadedTask } from './rows.js';
import type { TaskWrite } from './task-write.js';

export interface CompletionsOptions {
  me: string;
  leases: Leases;
  write<T>(fn: (client: PoolClient, w: TaskWrite) => Promise<T>): Promise<T>;
}

/** Completion transactions in flight at most; run ends arriving meanwhile wait and go together in the next. */
const MAX_INFLIGHT = 2;

/**
 * The tasks whose claim still holds: owned by this runtime, running, with this run number. What a
 * completion finds gone (cancelled, or swept after its lease and perhaps claimed elsewhere) is lost.
 */
const FENCED_SQL = `SELECT ${LOADED_COLUMNS} FROM spindle_tasks t
  JOIN unnest($1::text[], $2::int[]) AS f (id, run) ON t.id = f.id AND t.run = f.run
  WHERE t.owner = $3 AND t.state = 'running' ORDER BY t.id FOR UPDATE OF t`;

interface Waiting {
  items: readonly Completion[];
  resolve(results: CompletionResult[]): void;
  reject(err: unknown): void;
}

/**
 * Run ends, written in batches: while a batch is being written the next gathers, so a busy runtime
 * writes many run ends per transaction. Each end is applied only while its claim's fence holds.
 */
export class Completions {
  readonly #o: CompletionsOptions;
  #waiting: Waiting[] = [];
  #inflight = 0;
  #idle: Array<() => void> = [];

  constructor(options: CompletionsOptions) {
    this.#o = options;
  }

  complete(items: readonly Completion[]): Promise<CompletionResult[]> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ items, resolve, reject });
      this.#drain();
    });
  }

  /** Resolves once every completion given so far is written (or failed). */
  flushed(): Promise<void> {
    if (this.#inflight === 0 && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #drain(): void {
    if (this.#inflight >= MAX_INFLIGHT || this.#waiting.length === 0) return;
    const batch = this.#waiting;
    this.#waiting = [];
    const items = batch.flatMap((b) => b.items);
    const leases = this.#o.leases;
    for (const i of items) leases.completing(i.taskId, i.run, true);
    this.#inflight++;
    this.#o.write(async (client, w) => {
      const rows = await client.query(FENCED_SQL, [items.map((i) => i.taskId), items.map((i) => i.run), this.#o.me]);
      const held = new Map<string, LoadedTask>();
      for (const row of rows.rows) {
        const t = loaded(row);
        held.set(`${t.rec.id}:${t.rec.lastRun?.run}`, t);
      }
      return items.map((item): CompletionResult => {
        const key = `${item.taskId}:${item.run}`;
        const t = held.get(key);
        if (t === undefined) return 'lost';
        held.delete(key);
        w.apply(t, item.decide);
        return 'ok';
      });
    }).then((results) => {
      for (const i of items) leases.ended(i.taskId, i.run);
      let at = 0;
      for (const b of batch) {
        b.resolve(results.slice(at, at + b.items.length));
        at += b.items.length;
      }
    }, (err: unknown) => {
      for (const i of items) leases.completing(i.taskId, i.run, false);
      for (const b of batch) b.reject(err);
    }).finally(() => {
      this.#inflight--;
      this.#drain();
      if (this.#inflight === 0 && this.#waiting.length === 0) for (const fn of this.#idle.splice(0)) fn();
    });
  }
}
