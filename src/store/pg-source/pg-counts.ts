import type { Logger } from 'pino';
import type { TaskState } from '../../task/state.js';
import { TASK_STATES, TERMINAL_STATES } from '../../task/state.js';
import type { StateCounts } from '../store.js';
import type { PgDatabase } from './pg-database.js';
import { addTo } from './task-write.js';

/** How old the counts may be before a read of them asks the database again. */
const REFRESH_MS = 1000;

/**
 * Tasks per type and state, cluster-wide. Reads of counts are synchronous (stats), so they come
 * from a copy: counted by the database (one GROUP BY over the type/state index) at most once a
 * second, and moved at once by this runtime's own commits so its own changes show without delay.
 * Another runtime's changes show within a second.
 */
export class PgCounts {
  readonly #db: PgDatabase;
  readonly #log: Logger;
  #counts = new Map<string, StateCounts>();
  /** Paused open tasks per type, counted and moved alike. */
  #paused = new Map<string, number>();
  /** Moves committed while a count was read: the count may not include them. */
  #during: CountMoves[] | null = null;
  #countedAt = -Infinity;
  #closed = false;

  constructor(db: PgDatabase, log: Logger) {
    this.#db = db;
    this.#log = log;
  }

  /** Counts now (the start waits for this; later reads refresh in the background). */
  async refresh(): Promise<void> {
    if (this.#during !== null || this.#closed) return;
    this.#during = [];
    this.#countedAt = performance.now();
    try {
      const rows = await this.#db.query<{ type: string; state: TaskState; n: number; paused: number }>(
        'SELECT type, state, count(*)::int AS n, (count(*) FILTER (WHERE paused))::int AS paused FROM spindle_tasks GROUP BY type, state');
      const next = new Map<string, StateCounts>();
      const paused = new Map<string, number>();
      // A type once seen stays known (its tasks may all have been deleted).
      for (const type of this.#counts.keys()) next.set(type, {});
      for (const r of rows) {
        addTo(next, r.type, r.state, r.n);
        // pausedOf: the flag counts on open tasks only.
        if (!TERMINAL_STATES.has(r.state) && r.paused > 0) paused.set(r.type, (paused.get(r.type) ?? 0) + r.paused);
      }
      for (const moves of this.#during) add(next, paused, moves);
      this.#counts = next;
      this.#paused = paused;
    } catch (err) {
      this.#log.warn({ err }, 'counting tasks failed; the counts shown are older');
    } finally {
      this.#during = null;
    }
  }

  close(): void {
    this.#closed = true;
  }

  /** A commit of this runtime moved these counts. */
  committed(moves: CountMoves): void {
    if (moves.counts.size === 0 && moves.paused.size === 0) return;
    add(this.#counts, this.#paused, moves);
    this.#during?.push(moves);
  }

  all(): ReadonlyMap<string, StateCounts> {
    this.#fresh();
    return this.#counts;
  }

  open(type: string): number {
    this.#fresh();
    const c = this.#counts.get(type);
    if (c === undefined) return 0;
    let n = 0;
    for (const s of TASK_STATES) if (!TERMINAL_STATES.has(s)) n += c[s] ?? 0;
    return n;
  }

  paused(type: string): number {
    this.#fresh();
    return this.#paused.get(type) ?? 0;
  }

  knows(type: string): boolean {
    this.#fresh();
    return this.#counts.has(type);
  }

  #fresh(): void {
    if (performance.now() - this.#countedAt >= REFRESH_MS) void this.refresh();
  }
}

/** How one commit moved the counts (TaskWrite's). */
export interface CountMoves {
  counts: ReadonlyMap<string, StateCounts>;
  paused: ReadonlyMap<string, number>;
}

function add(counts: Map<string, StateCounts>, paused: Map<string, number>, moves: CountMoves): void {
  for (const [type, c] of moves.counts) for (const [state, n] of Object.entries(c)) addTo(counts, type, state as TaskState, n);
  for (const [type, n] of moves.paused) paused.set(type, (paused.get(type) ?? 0) + n);
}
