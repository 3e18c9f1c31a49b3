import type { PoolClient } from 'pg';
import { MINUTE_MS, minuteOf, SERIES_RETENTION_MS } from '../../api/series.js';
import type { TaskRecord } from '../../task/record.js';
import { TERMINAL_STATES } from '../../task/state.js';
import { deleteTasks, LOADED_COLUMNS } from './rows.js';
import type { TaskWrite } from './task-write.js';

/**
 * The retention sweep's advisory lock, as two int4 keys: class 3 (1 is an idempotency key's,
 * 2 a limited type's) and 0. Exported for the tests, which hold it as another runtime would.
 */
export const SWEEP_LOCK = [3, 0] as const;

/**
 * Whether this transaction took the retention sweep's lock (held until it ends). Every runtime on
 * a database runs the sweep on its timer: while one sweeps, the others skip their round rather
 * than step over its rows one by one (SKIP LOCKED), and a round's batch is deleted once.
 */
export async function trySweepLock(client: PoolClient): Promise<boolean> {
  const rows = await client.query<{ mine: boolean }>('SELECT pg_try_advisory_xact_lock($1, $2) AS mine', [...SWEEP_LOCK]);
  return rows.rows[0]!.mine;
}

/**
 * A sweep's first transaction: the tasks whose hold on their key ran out give it up (a batch of
 * `limit`). Null when another runtime sweeps now (it holds the lock): this round is its.
 */
export async function releaseKeys(client: PoolClient, w: TaskWrite, limit: number): Promise<number | null> {
  if (!(await trySweepLock(client))) return null;
  const rows = await client.query(`SELECT ${LOADED_COLUMNS} FROM spindle_tasks WHERE key_expires_at <= $1
    ORDER BY key_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED`, [w.now, limit]);
  for (const row of rows.rows) {
    w.apply(w.loaded(row), (rec) => {
      rec.keyExpiresAt = null;
      rec.updatedAt = w.now;
    });
  }
  return rows.rows.length;
}

/**
 * A sweep's second transaction: expired tasks deleted (a batch of `limit`); a task still holding
 * its key (key IS NOT NULL) goes at a later sweep, once the key is free; old per-minute rows go
 * too when `series()` says so (asked once the lock is held). Null when another runtime sweeps now.
 */
export async function deleteExpired(client: PoolClient, w: TaskWrite, limit: number, series: () => boolean): Promise<number | null> {
  if (!(await trySweepLock(client))) return null;
  const rows = await client.query<{ id: string; type: string; state: TaskRecord['state']; paused: boolean }>(`SELECT id, type, state, paused FROM spindle_tasks
    WHERE expires_at <= $1 AND key IS NULL ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED`, [w.now, limit]);
  await deleteTasks(client, rows.rows.map((r) => r.id));
  for (const r of rows.rows) w.deleted(r.type, r.state, { paused: r.paused && !TERMINAL_STATES.has(r.state) });
  if (series()) await client.query('DELETE FROM spindle_series WHERE minute < $1', [minuteOf(w.now - SERIES_RETENTION_MS)]);
  return rows.rows.length;
}

/** One transaction of the source's, `fn` reading and deciding in it (PgSource's own write). */
type Write = <T>(fn: (client: PoolClient, w: TaskWrite) => Promise<T>) => Promise<T>;

/** The retention sweep's rounds: keys released, then expired tasks deleted, each in a transaction of its own. */
export class RetentionSweep {
  readonly #write: Write;
  /** When old per-minute rows were last deleted (database ms). */
  #seriesSweptAt = 0;

  constructor(write: Write) {
    this.#write = write;
  }

  /** A round of at most `limit` tasks each; `more` when a batch was full. Nothing when another runtime sweeps now. */
  async round(limit: number): Promise<{ removed: number; more: boolean }> {
    const released = await this.#write((client, w) => releaseKeys(client, w, limit));
    if (released === null) return { removed: 0, more: false };
    // Old per-minute rows go at most once a minute: the sweep runs far more often.
    const removed = await this.#write((client, w) => deleteExpired(client, w, limit, () => {
      if (w.now - this.#seriesSweptAt < MINUTE_MS) return false;
      this.#seriesSweptAt = w.now;
      return true;
    }));
    if (removed === null) return { removed: 0, more: false };
    return { removed, more: removed === limit || released === limit };
  }
}
