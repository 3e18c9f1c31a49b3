import type { Pool } from 'pg';
import { SpindleError } from '../../errors.js';
import { TASKS_SQL } from './migrations/001-tasks.js';
import { OPERATIONS_SQL } from './migrations/002-operations.js';
import { COUNTS_SQL } from './migrations/003-counts.js';
import { LEANER_WRITES_SQL } from './migrations/004-leaner-writes.js';
import { COMPACT_RECORDS_SQL } from './migrations/005-compact-records.js';
import { FEWER_INDEX_ENTRIES_SQL } from './migrations/006-fewer-index-entries.js';
import { BYTEWISE_KEYS_SQL } from './migrations/007-bytewise-keys.js';
import { LEANER_INDEXES_SQL } from './migrations/008-leaner-indexes.js';
import { VACUUM_SETTINGS_SQL } from './migrations/009-vacuum-settings.js';
import { EXPLICIT_DELETES_SQL } from './migrations/010-explicit-deletes.js';
import { LEANER_RECORDS_SQL } from './migrations/011-leaner-records.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Numbered, applied in order, never edited once released: a change is a new migration. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'tasks', sql: TASKS_SQL },
  { version: 2, name: 'operations', sql: OPERATIONS_SQL },
  { version: 3, name: 'counts', sql: COUNTS_SQL },
  { version: 4, name: 'leaner-writes', sql: LEANER_WRITES_SQL },
  { version: 5, name: 'compact-records', sql: COMPACT_RECORDS_SQL },
  { version: 6, name: 'fewer-index-entries', sql: FEWER_INDEX_ENTRIES_SQL },
  { version: 7, name: 'bytewise-keys', sql: BYTEWISE_KEYS_SQL },
  { version: 8, name: 'leaner-indexes', sql: LEANER_INDEXES_SQL },
  { version: 9, name: 'vacuum-settings', sql: VACUUM_SETTINGS_SQL },
  { version: 10, name: 'explicit-deletes', sql: EXPLICIT_DELETES_SQL },
  { version: 11, name: 'leaner-records', sql: LEANER_RECORDS_SQL },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The advisory lock every migrator takes (per database): 'SPDL' as a number. */
const MIGRATION_LOCK = 0x5350444c;

/**
 * Brings the database's schema up to this code's version: each migration in its own transaction
 * under a transaction-scoped advisory lock, so runtimes starting together apply each once and the
 * rest find it done. A schema newer than this code knows is refused (STORE_INVALID), never used:
 * an older runtime would misread what a newer one writes. Resolves with the version found before.
 */
export async function migrate(pool: Pool): Promise<number> {
  let found: number | null = null;
  for (;;) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(`CREATE TABLE IF NOT EXISTS spindle_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const { rows } = await client.query<{ v: number }>('SELECT coalesce(max(version), 0)::int AS v FROM spindle_migrations');
      const version = rows[0]!.v;
      found ??= version;
      if (version > SCHEMA_VERSION) {
        throw new SpindleError('STORE_INVALID', `the database's schema is version ${version}, newer than this runtime knows (${SCHEMA_VERSION}); upgrade Spindle`, {
          reason: 'schema-newer', schema: version, known: SCHEMA_VERSION,
        });
      }
      const next = MIGRATIONS.find((m) => m.version > version);
      if (next === undefined) {
        await client.query('COMMIT');
        client.release();
        return found;
      }
      await client.query(next.sql);
      await client.query('INSERT INTO spindle_migrations (version, name) VALUES ($1, $2)', [next.version, next.name]);
      await client.query('COMMIT');
      client.release();
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      // A client whose connection failed must not go back to the pool.
      client.release(err instanceof SpindleError ? undefined : (err as Error));
      throw err;
    }
  }
}
