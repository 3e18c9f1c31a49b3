import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { MIGRATIONS } from '../../src/store/pg-source/migrate.js';

/** The local PostgreSQL every session and CI run has (trust auth); SPINDLE_TEST_PG overrides it. */
const SERVER = process.env.SPINDLE_TEST_PG ?? 'postgres://root@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  /** Drops the database, ending whatever connections are still open on it. */
  drop(): Promise<void>;
}

/**
 * A fresh, empty database of its own for one test (PostgreSQL cannot roll back a CREATE DATABASE,
 * so each test drops its own). `options`: what CREATE DATABASE is given after the name (a locale).
 */
export async function createTestDatabase(options = ''): Promise<TestDatabase> {
  const name = `spindle_test_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name} ${options}`);
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** Brings a connected database to schema `upTo` as that release's migrations left it, for the upgrade tests to go on from. */
export async function schemaAt(client: pg.Client, upTo: number): Promise<void> {
  await client.query('CREATE TABLE spindle_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
  for (const m of MIGRATIONS.filter((x) => x.version <= upTo)) {
    await client.query(m.sql);
    await client.query('INSERT INTO spindle_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
  }
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVER });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
