import type { Completion, CompletionResult } from '../task-source.js';
import type { Op } from './group-commit.js';
import type { Leases } from './leases.js';
import { loaded, LOADED_COLUMNS, type LoadedTask } from './rows.js';

export interface CompletionsOptions {
  me: string;
  leases: Leases;
  /** Runs the op in a transaction shared with other claims and run ends. */
  write<T>(op: Op<T>): Promise<T>;
}

/**
 * The tasks of the ends, locked in id order; the fence (owned by this runtime, running, with this
 * run number) is checked on the rows in JS. What a completion finds gone (cancelled, or swept after
 * its lease and perhaps claimed elsewhere) is lost. Selected by id only: asked for the owner too,
 * the planner walked spindle_tasks_owner, every running entry of the runtime and every dead one
 * not yet vacuumed (thousands a completion under load), where the ids are a few probes of the key.
 */
const FENCED_SQL = `SELECT ${LOADED_COLUMNS} FROM spindle_tasks WHERE id = ANY($1::text[]) AND state = 'running' ORDER BY id FOR UPDATE`;

/** One complete() call waiting for the op that writes it. */
interface Pending {
  items: readonly Completion[];
  resolve(results: CompletionResult[]): void;
  reject(err: unknown): void;
}

/**
 * Run ends, each applied only while its claim's fence holds; the leases stop being renewed once
 * written. All the ends waiting when a shared transaction starts go in one op, so the transaction
 * locks their rows in one statement, in id order, as the heartbeat does: two fenced reads in one
 * transaction (a group commit that gathered several batches of ends while its connections were
 * busy) would lock the second batch's rows after the first's, out of id order, and deadlock with a
 * heartbeat locking the same rows in order (the beat then failed, and runs were fenced and lost).
 */
export class Completions {
  readonly #o: CompletionsOptions;
  /** Ends handed in since the last op took its share; `#queued` says an op waits in the group commit to take them. */
  #pending: Pending[] = [];
  #queued = false;

  constructor(options: CompletionsOptions) {
    this.#o = options;
  }

  complete(items: readonly Completion[]): Promise<CompletionResult[]> {
    for (const i of items) this.#o.leases.completing(i.taskId, i.run, true);
    return new Promise((resolve, reject) => {
      this.#pending.push({ items, resolve, reject });
      if (!this.#queued) {
        this.#queued = true;
        this.#write();
      }
    });
  }

  /** Queues one op for every end handed in until its transaction starts. */
  #write(): void {
    const me = this.#o.me;
    let taken: { batch: Pending[]; values: unknown[] } | null = null;
    // Once: a transaction run again (a serialization failure) writes the same ends.
    const take = (): { batch: Pending[]; values: unknown[] } => {
      if (taken === null) {
        const batch = this.#pending;
        this.#pending = [];
        this.#queued = false;
        const items = batch.flatMap((p) => p.items);
        taken = { batch, values: [items.map((i) => i.taskId)] };
      }
      return taken;
    };
    const op: Op<CompletionResult[]> = async (client, w, first) => {
      const { batch, values } = take();
      const rows = first ?? (await client.query({ name: 'spindle_fenced', text: FENCED_SQL, values })).rows;
      const held = new Map<string, LoadedTask>();
      for (const row of rows) {
        const t = loaded(row);
        if (t.owner !== me) continue;
        held.set(`${t.rec.id}:${t.rec.lastRun?.run}`, t);
      }
      return batch.flatMap((p) => p.items).map((item): CompletionResult => {
        const key = `${item.taskId}:${item.run}`;
        const t = held.get(key);
        if (t === undefined) return 'lost';
        held.delete(key);
        w.apply(t, item.decide);
        return 'ok';
      });
    };
    // Said ahead: the claim of the slots these ends free usually shares the transaction, and the round trip.
    op.read = { name: 'fenced', text: FENCED_SQL, values: () => take().values };
    const leases = this.#o.leases;
    this.#o.write(op).then((results) => {
      let at = 0;
      for (const p of take().batch) {
        for (const i of p.items) leases.ended(i.taskId, i.run);
        p.resolve(results.slice(at, at + p.items.length));
        at += p.items.length;
      }
    }, (err: unknown) => {
      // A transaction that never started never took its ends: they fail with it.
      for (const p of take().batch) {
        for (const i of p.items) leases.completing(i.taskId, i.run, false);
        p.reject(err);
      }
    });
  }
}
