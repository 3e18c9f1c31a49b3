import type { PoolClient } from 'pg';

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
