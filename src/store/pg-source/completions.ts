import type { Completion, CompletionResult } from '../task-source.js';
import type { Op } from './group-commit.js';
import type { Leases, Written } from './leases.js';
import { binaryArray, taskOfColumn, type LoadedTask } from './rows.js';
import type { TaskWrite } from './task-write.js';

export interface CompletionsOptions {
  me: string;
  leases: Leases;
  /** Runs the op in a transaction shared with other claims and run ends. */
  write<T>(op: Op<T>): Promise<T>;
}

/**
 * The tasks of ends whose records this runtime does not hold (a transaction attempt after one
 * that took them and failed, or a run its leases no longer hold), locked in id order; the fence
 * (owned by this runtime, running, with this run number) is checked on the rows in JS. Selected by
 * id only: asked for the owner too, the planner walked spindle_tasks_owner, every running entry of
 * the runtime and every dead one not yet vacuumed (thousands a completion under load), where the
 * ids are a few probes of the key. The probes are LATERAL, one per id in id order, each locking
 * its row, so no plan can trade them for a walk of every running task (a join was hashed over
 * spindle_tasks_lease's entries).
 */
const FENCED_SQL = `SELECT t.id, t.record, t.owner, t.lease_until::float8 AS lease_until, t.version::float8 AS version
  FROM (SELECT * FROM unnest($1::text[]) AS u (id) ORDER BY id) AS k
  CROSS JOIN LATERAL (SELECT id, record, owner, lease_until, version FROM spindle_tasks WHERE id = k.id AND state = 'running' FOR UPDATE) AS t
  ORDER BY k.id`;

/**
 * Per transaction attempt: the records held since their claims, with the versions the claims
 * made, by task id; and the ids to read (null: none).
 */
const heldIn = new WeakMap<TaskWrite, { held: Map<string, Written>; read: unknown[] | null }>();

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
    const leases = this.#o.leases;
    let taken: Pending[] | null = null;
    // Once: a transaction run again (a serialization failure) writes the same ends.
    const take = (): Pending[] => {
      if (taken === null) {
        taken = this.#pending;
        this.#pending = [];
        this.#queued = false;
      }
      return taken;
    };
    // Per attempt: an attempt after a failed one reads again the records the failed one changed.
    const heldFor = (w: TaskWrite): { held: Map<string, Written>; read: unknown[] | null } => {
      let h = heldIn.get(w);
      if (h === undefined) {
        const ids: string[] = [];
        const held = new Map<string, Written>();
        for (const p of take()) {
          for (const i of p.items) {
            const written = leases.written(i.taskId, i.run);
            if (written === null) ids.push(i.taskId);
            else held.set(i.taskId, written);
          }
        }
        heldIn.set(w, (h = { held, read: ids.length === 0 ? null : [binaryArray('text', ids)] }));
      }
      return h;
    };
    /*
     * An end whose record is held is applied to it unread: its claim wrote it, and the update that
     * writes the end is fenced by the version that claim made (rows.ts), so a row changed since (a
     * cancel, a lease swept and the task claimed elsewhere) fails the transaction, and its next
     * attempt reads the row and finds the run still ours or lost.
     */
    const op: Op<CompletionResult[]> = async (client, w, first) => {
      const batch = take();
      const { held: records, read } = heldFor(w);
      const rows = first ?? (read === null ? [] : (await client.query({ name: 'spindle_fenced', text: FENCED_SQL, values: read })).rows);
      // By task id: a run's end applies only to the run the row holds now.
      const held = new Map<string, LoadedTask>();
      for (const row of rows) {
        if (row.owner !== me) continue;
        held.set(row.id as string, { rec: taskOfColumn(row.record as string), owner: row.owner as string, leaseUntil: row.lease_until as number, version: row.version as number });
      }
      for (const [id, { rec, version }] of records) held.set(id, { rec, owner: me, leaseUntil: null, version });
      const results: CompletionResult[] = [];
      for (const p of batch) {
        for (const item of p.items) {
          const t = held.get(item.taskId);
          if (t === undefined || t.rec.lastRun?.run !== item.run) {
            results.push('lost');
            continue;
          }
          held.delete(item.taskId);
          w.apply(t, item.decide);
          results.push('ok');
        }
      }
      return results;
    };
    // Said ahead: the claim of the slots these ends free usually shares the transaction, and the round trip.
    op.read = { name: 'fenced', text: FENCED_SQL, values: (w) => heldFor(w).read!, wanted: (w) => heldFor(w).read !== null };
    this.#o.write(op).then((results) => {
      let at = 0;
      for (const p of take()) {
        for (const i of p.items) leases.ended(i.taskId, i.run);
        p.resolve(results.slice(at, at + p.items.length));
        at += p.items.length;
      }
    }, (err: unknown) => {
      // A transaction that never started never took its ends: they fail with it.
      for (const p of take()) {
        for (const i of p.items) leases.completing(i.taskId, i.run, false);
        p.reject(err);
      }
    });
  }
}
