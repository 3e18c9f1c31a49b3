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

/** Run ends, each applied only while its claim's fence holds; the leases stop being renewed once written. */
export class Completions {
  readonly #o: CompletionsOptions;

  constructor(options: CompletionsOptions) {
    this.#o = options;
  }

  async complete(items: readonly Completion[]): Promise<CompletionResult[]> {
    const leases = this.#o.leases;
    for (const i of items) leases.completing(i.taskId, i.run, true);
    try {
      const values = [items.map((i) => i.taskId)];
      const me = this.#o.me;
      const op: Op<CompletionResult[]> = async (client, w, first) => {
        const rows = first ?? (await client.query({ name: 'spindle_fenced', text: FENCED_SQL, values })).rows;
        const held = new Map<string, LoadedTask>();
        for (const row of rows) {
          const t = loaded(row);
          if (t.owner !== me) continue;
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
      };
      // Said ahead: the claim of the slots these ends free usually shares the transaction, and the round trip.
      op.read = { name: 'fenced', text: FENCED_SQL, values: () => values };
      const results = await this.#o.write(op);
      for (const i of items) leases.ended(i.taskId, i.run);
      return results;
    } catch (err) {
      for (const i of items) leases.completing(i.taskId, i.run, false);
      throw err;
    }
  }
}
