import type { Logger } from 'pino';
import type { PgDatabase } from './pg-database.js';

/**
 * The types an operator paused, as this runtime last read them from spindle_type_pauses: read at
 * start, again when another runtime's notice says they changed and on the backstop's tick (a
 * notice can be lost with its connection), and changed at once by this runtime's own commits.
 * Claims do not rely on this copy: they read the table in their own transaction.
 */
export class TypePauses {
  readonly #db: PgDatabase;
  readonly #log: Logger;
  readonly #types = new Set<string>();
  /** Bumped by each change of this runtime: a read that began before one must not undo it. */
  #version = 0;

  constructor(db: PgDatabase, log: Logger) {
    this.#db = db;
    this.#log = log;
  }

  get types(): ReadonlySet<string> {
    return this.#types;
  }

  async refresh(): Promise<void> {
    const version = this.#version;
    try {
      const rows = await this.#db.query<{ type: string }>('SELECT type FROM spindle_type_pauses');
      if (version !== this.#version) return;
      this.#types.clear();
      for (const r of rows) this.#types.add(r.type);
    } catch (err) {
      this.#log.warn({ err }, 'reading the paused types failed; the ones shown are older');
    }
  }

  /** This runtime's write of a pause or resume committed. */
  committed(type: string, paused: boolean): void {
    this.#version++;
    if (paused) this.#types.add(type);
    else this.#types.delete(type);
  }
}
