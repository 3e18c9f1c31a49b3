/** The PostgreSQL server the pg cases run on, and the databases they create on it and drop. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The local server every session and CI run has; SPINDLE_BENCH_PG (or the tests' SPINDLE_TEST_PG) overrides it. */
export const PG_SERVER = process.env.SPINDLE_BENCH_PG ?? process.env.SPINDLE_TEST_PG ?? 'postgres://root@127.0.0.1:5432/postgres';

/** Null when the server answers, else why not (one line, without the URL: it may hold a password). */
export async function unreachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_SERVER, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return (err as Error).message.split('\n')[0] ?? String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh database of its own for one case; drop() ends whatever is still connected to it. */
export async function createDatabase(prefix: string): Promise<BenchDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(PG_SERVER);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** Runs fn on a fresh database and drops it afterwards, whatever fn did. */
export async function onFreshDatabase<T>(prefix: string, fn: (url: string) => Promise<T>): Promise<T> {
  const db = await createDatabase(prefix);
  try {
    return await fn(db.url);
  } finally {
    await db.drop();
  }
}

/** Runs one statement on the database at `url` (default: the server's own). */
export async function admin(sql: string, url = PG_SERVER): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
