import type { PoolClient } from 'pg';
import type { Logger } from 'pino';
import type { TaskState } from '../../task/state.js';
import { TASK_STATES, TERMINAL_STATES } from '../../task/state.js';
import type { StateCounts } from '../store.js';
import { type PgDatabase, withCommit } from './pg-database.js';

/** How old the counts may be before a read of them asks the database again. */
const REFRESH_MS = 1000;
/**
 * Rows each count is striped over (migration 3). A transaction adds to one slot, so two writers
 * wait for each other only when they picked the same one; reads sum at most this many rows a count.
 */
const COUNT_SLOTS = 32;
const OPEN_STATES = TASK_STATES.filter((s) => s !== 'none' && !TERMINAL_STATES.has(s));

/** Where a task stands for the counts: its state, and whether it counts as paused (pausedOf). */
export interface Counted {
  state: TaskState;
  paused: boolean;
}

/**
 * The key of a count row, made once per type and state (a decision moves two counts, and each
 * move would build its key string again): as many as the types this runtime writes, times states.
 */
const rowKeys = new Map<string, Map<TaskState, readonly [unpaused: string, paused: string]>>();

function rowKey(type: string, state: TaskState, paused: boolean): string {
  let byState = rowKeys.get(type);
  if (byState === undefined) rowKeys.set(type, (byState = new Map()));
  let keys = byState.get(state);
  if (keys === undefined) byState.set(state, (keys = [`${type}\u0000${state}\u0000false`, `${type}\u0000${state}\u0000true`]));
  return keys[paused ? 1 : 0];
}

/**
 * How one transaction moved the counts, per (type, state, paused): written to spindle_counts in the
 * transaction, and added to this runtime's copy once it committed.
 */
export class CountMoves {
  readonly #rows = new Map<string, { type: string; state: TaskState; paused: boolean; n: number }>();

  /** A task of `type` moved from `from` to `to` (null: it did not exist before, or no longer does). */
  move(type: string, from: Counted | null, to: Counted | null): void {
    if (from !== null && to !== null && from.state === to.state && from.paused === to.paused) return;
    if (from !== null) this.#add(type, from, -1);
    if (to !== null) this.#add(type, to, 1);
  }

  /**
   * Adds the moves to spindle_counts, in one statement sent with the COMMIT (see withCommit: the
   * rows stay locked from it to the commit without a trip to the client, and the transaction
   * saves the round trip); rows in key order, so two writers never wait on each other in a cycle.
   */
  write(client: PoolClient): void {
    const rows = [...this.#rows.values()].filter((r) => r.n !== 0)
      .sort((a, b) => (a.type !== b.type ? (a.type < b.type ? -1 : 1) : a.state !== b.state ? (a.state < b.state ? -1 : 1) : Number(a.paused) - Number(b.paused)));
    if (rows.length === 0) return;
    const slot = Math.floor(Math.random() * COUNT_SLOTS);
    const values = rows.map((r) => `(${client.escapeLiteral(r.type)}, ${client.escapeLiteral(r.state)}, ${r.paused}, ${slot}, ${Math.trunc(r.n)})`);
    withCommit(client, `INSERT INTO spindle_counts (type, state, paused, slot, n) VALUES ${values.join(', ')}
      ON CONFLICT (type, state, paused, slot) DO UPDATE SET n = spindle_counts.n + excluded.n`);
  }

  /** Adds the moves to per-type counts and paused counts (a state whose moves cancel out is left as it was). */
  addTo(counts: Map<string, StateCounts>, paused: Map<string, number>): void {
    const net = new Map<string, StateCounts>();
    for (const r of this.#rows.values()) {
      addState(net, r.type, r.state, r.n);
      if (r.paused) paused.set(r.type, (paused.get(r.type) ?? 0) + r.n);
    }
    for (const [type, c] of net) {
      for (const [state, n] of Object.entries(c)) if (n !== 0) addState(counts, type, state as TaskState, n);
    }
  }

  #add(type: string, { state, paused }: Counted, n: number): void {
    const k = rowKey(type, state, paused);
    const row = this.#rows.get(k);
    if (row === undefined) this.#rows.set(k, { type, state, paused, n });
    else row.n += n;
  }
}

/** The type's open tasks as committed (the submit's per-type lock makes the count its own until it commits). */
export async function openCount(client: PoolClient, type: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    'SELECT coalesce(sum(n), 0)::float8 AS n FROM spindle_counts WHERE type = $1 AND state = ANY($2::text[])', [type, OPEN_STATES]);
  return rows[0]!.n;
}

/**
 * Tasks per type and state, cluster-wide. Reads of counts are synchronous (stats), so they come
 * from a copy: read from spindle_counts (a few rows per type and state) at most once a second,
 * and moved at once by this runtime's own commits so its own changes show without delay.
 * Another runtime's changes show within a second.
 */
export class PgCounts {
  readonly #db: PgDatabase;
  readonly #log: Logger;
  #counts = new Map<string, StateCounts>();
  /** Paused open tasks per type, read and moved alike. */
  #paused = new Map<string, number>();
  /** Moves committed while a count was read: the count may not include them. */
  #during: CountMoves[] | null = null;
  #countedAt = -Infinity;
  #closed = false;

  constructor(db: PgDatabase, log: Logger) {
    this.#db = db;
    this.#log = log;
  }

  /** Reads the counts now (the start waits for this; later reads refresh in the background). */
  async refresh(): Promise<void> {
    if (this.#during !== null || this.#closed) return;
    this.#during = [];
    this.#countedAt = performance.now();
    try {
      const rows = await this.#db.query<{ type: string; state: TaskState; paused: boolean; n: number }>(
        'SELECT type, state, paused, sum(n)::float8 AS n FROM spindle_counts GROUP BY type, state, paused');
      const next = new Map<string, StateCounts>();
      const paused = new Map<string, number>();
      // A type once seen stays known (its tasks may all have been deleted).
      for (const type of this.#counts.keys()) next.set(type, {});
      for (const r of rows) {
        if (!next.has(r.type)) next.set(r.type, {});
        if (r.n !== 0) addState(next, r.type, r.state, r.n);
        if (r.paused && r.n !== 0) paused.set(r.type, (paused.get(r.type) ?? 0) + r.n);
      }
      for (const moves of this.#during) moves.addTo(next, paused);
      this.#counts = next;
      this.#paused = paused;
    } catch (err) {
      this.#log.warn({ err }, 'reading the task counts failed; the counts shown are older');
    } finally {
      this.#during = null;
    }
  }

  close(): void {
    this.#closed = true;
  }

  /** A commit of this runtime moved these counts. */
  committed(moves: CountMoves): void {
    moves.addTo(this.#counts, this.#paused);
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
    for (const s of OPEN_STATES) n += c[s] ?? 0;
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

function addState(table: Map<string, StateCounts>, type: string, state: TaskState, delta: number): void {
  let c = table.get(type);
  if (c === undefined) table.set(type, (c = {}));
  c[state] = (c[state] ?? 0) + delta;
}
