import type { Logger } from 'pino';
import pg from 'pg';
import type { ClientConfig, PoolClient } from 'pg';
import { SpindleError, isSpindleError } from '../../errors.js';
import { migrate } from './migrate.js';

export interface PgDatabaseOptions {
  /** postgres://user@host:port/db (or postgresql://). */
  url: string;
  log: Logger;
  /** Connections in the pool at most (the listener has its own). */
  poolSize?: number;
}

/** SQLSTATEs a transaction is simply run again for: serialization failure, deadlock, a key taken meanwhile. */
const RETRYABLE = new Set(['40001', '40P01', '23505']);
const TX_ATTEMPTS = 4;
/** A server that does not answer a connection attempt in this long counts as unreachable. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Statements a transaction sends with its COMMIT, per connection (see withCommit). */
const atCommit = new WeakMap<PoolClient, string[]>();

/**
 * Sends `sql` (no parameters: values written as literals) in the same round trip as the
 * transaction's COMMIT, after everything else. For a statement that locks a row every runtime
 * writes: the lock is then held from that statement to the commit without a round trip to the
 * client in between, which on a loaded machine is most of the time it would be held. A failure
 * fails the commit, and the transaction is rolled back and retried as any other.
 */
export function withCommit(client: PoolClient, sql: string): void {
  const list = atCommit.get(client);
  if (list === undefined) throw new Error('withCommit: the connection is not in a transaction');
  list.push(sql);
}

/** The instant of the transaction (its start: `now()`), in whole ms since the epoch. */
export const NOW_MS = 'floor(extract(epoch from now()) * 1000)::float8';

/**
 * One PostgreSQL database: its connection pool, its schema brought up to date at open, and
 * transactions that are run again on the conflicts PostgreSQL asks a client to retry. Errors leave
 * it as SpindleErrors with a stable code and one line.
 */
export class PgDatabase {
  readonly pool: pg.Pool;
  readonly #config: ClientConfig;
  readonly #log: Logger;
  readonly #session: string[] = [];
  /** The connections that ran #session (connections are kept and reused by the pool). */
  readonly #prepared = new WeakMap<PoolClient, number>();
  #closed = false;

  private constructor(config: ClientConfig, options: PgDatabaseOptions) {
    this.#config = config;
    this.#log = options.log;
    this.pool = new pg.Pool({ ...config, max: options.poolSize ?? 10, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    // An idle connection that breaks is dropped by the pool; without a listener the error would end the process.
    this.pool.on('error', (err) => this.#log.warn({ err }, 'an idle database connection failed; the pool replaces it'));
  }

  /** Connects, checks the server answers, and migrates the schema. */
  static async open(options: PgDatabaseOptions): Promise<PgDatabase> {
    const db = new PgDatabase(clientConfig(options.url), options);
    try {
      await migrate(db.pool).catch((err: unknown) => { throw storeError(err, 'preparing the database'); });
      return db;
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /** A new connection outside the pool (for LISTEN, which holds its connection). */
  client(): pg.Client {
    return new pg.Client(this.#config);
  }

  /**
   * Statements each connection runs once, before its first transaction after they were given
   * (a session's temporary functions): connections the pool already holds run them then too.
   */
  session(sql: string): void {
    this.#session.push(sql);
  }

  /** One statement outside a transaction. */
  async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(text, values)).rows;
    } catch (err) {
      throw storeError(err, 'reading the database');
    }
  }

  /**
   * Runs `fn` in one transaction, given the transaction's instant (`now()` in ms). `fn` may run
   * more than once (serialization failures and deadlocks are retried), so it must build its
   * changes afresh each time. A SpindleError thrown by `fn` (a decision's refusal) rolls back and
   * is rethrown as it is; anything else is STORE_UNAVAILABLE.
   */
  async transaction<T>(fn: (client: PoolClient, now: number) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        throw storeError(err, 'connecting to the database');
      }
      // A connection that breaks between two statements says so by an 'error' event, which with no
      // listener would end the process; the statement that follows fails, and that is the answer.
      const onError = (err: Error): void => this.#log.debug({ err }, 'a database connection failed in a transaction');
      client.on('error', onError);
      const release = (err?: Error): void => {
        client.off('error', onError);
        client.release(err);
      };
      try {
        const ran = this.#prepared.get(client) ?? 0;
        if (ran < this.#session.length) {
          await client.query(this.#session.slice(ran).join(';\n'));
          this.#prepared.set(client, this.#session.length);
        }
        // One round trip for both: the simple protocol takes several statements without parameters.
        const results = await client.query(`BEGIN; SELECT ${NOW_MS} AS now`) as unknown as pg.QueryResult[];
        const now = (results[1]!.rows[0] as { now: number }).now;
        atCommit.set(client, []);
        const out = await fn(client, now);
        await client.query([...atCommit.get(client)!, 'COMMIT'].join(';\n'));
        atCommit.delete(client);
        release();
        return out;
      } catch (err) {
        atCommit.delete(client);
        const broken = await client.query('ROLLBACK').then(() => false, () => true);
        release(broken ? (err as Error) : undefined);
        if (isSpindleError(err)) throw err;
        const code = (err as { code?: string }).code;
        if (code !== undefined && RETRYABLE.has(code) && attempt < TX_ATTEMPTS) continue;
        throw storeError(err, 'writing to the database');
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pool.end();
  }
}

/** The pool's settings from a postgres:// URL; a URL that is not one is INVALID_OPTION. */
export function clientConfig(url: string): ClientConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SpindleError('INVALID_OPTION', `store: ${JSON.stringify(url)} is not a URL; expected postgres://user@host:port/database`, { field: 'store' });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new SpindleError('INVALID_OPTION', `store: expected postgres://user@host:port/database, got ${parsed.protocol}//…`, { field: 'store' });
  }
  return { connectionString: url, application_name: 'spindle' };
}

/** A driver or server error as STORE_UNAVAILABLE, in one line naming what failed and why. */
export function storeError(err: unknown, doing: string): SpindleError {
  if (isSpindleError(err)) return err;
  const e = err as { code?: string; message?: string };
  const why = e.code === '28P01' || e.code === '28000' ? 'the server refused the login'
    : e.code === '3D000' ? 'the database does not exist'
      : e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'EHOSTUNREACH' || e.code === 'ETIMEDOUT' ? 'the server cannot be reached'
        : 'the database failed';
  return new SpindleError('STORE_UNAVAILABLE', `${doing}: ${why} (${(e.message ?? String(err)).split('\n')[0]})`, { sqlstate: e.code ?? null }, err);
}
