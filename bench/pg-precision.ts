/**
 * Due-time precision on PostgreSQL: the precision and handler-lateness cases of precision.ts and
 * handler-lateness.ts, run on a real runtime whose store is a database this module creates and
 * drops, each beside plain setTimeout and the LevelDB runtime measured in the same run (this
 * machine is shared and noisy: figures from another run are not comparable). Skipped, with one
 * line, when the server does not answer. Alone: `node dist/bench/pg-precision.js`.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { HANDLER_COUNT, setTimeoutHandlerLateness, spindleHandlerLateness } from './handler-lateness.js';
import { type Lateness, setTimeoutLateness, spindleLateness } from './precision.js';
import { WORKERS } from './spindle-throughput.js';

/** The local server every session and CI run has; SPINDLE_BENCH_PG (or the tests' SPINDLE_TEST_PG) overrides it. */
const SERVER = process.env.SPINDLE_BENCH_PG ?? process.env.SPINDLE_TEST_PG ?? 'postgres://root@127.0.0.1:5432/postgres';

export interface PgPrecision {
  precision: Record<'setTimeout' | 'leveldb' | 'postgres', Lateness>;
  handler: Record<'setTimeout' | 'leveldb' | 'postgres', Lateness>;
}

/** Both cases, printed as tables; null (after one line saying why) when PostgreSQL does not answer. */
export async function pgPrecision(tasks: string, workers: number): Promise<PgPrecision | null> {
  const down = await unreachable();
  if (down !== null) {
    console.log(`\nprecision on PostgreSQL: skipped, the server does not answer (${down}); SPINDLE_BENCH_PG names another`);
    return null;
  }
  console.log('\nprecision on PostgreSQL: the precision case (lateness = `run.started` − due) on a runtime with `store: \'postgres://…\'` on a local server, beside setTimeout and LevelDB in the same run');
  const precision = {
    setTimeout: await setTimeoutLateness(),
    leveldb: await spindleLateness(tasks, workers),
    postgres: await onFreshDatabase((url) => spindleLateness(tasks, workers, url)),
  };
  table(precision, {
    setTimeout: 'plain setTimeout (baseline)', leveldb: 'spindle on LevelDB', postgres: 'spindle on PostgreSQL',
  }, 'p99 ≤ 2× LevelDB and ≤ LevelDB + 3 ms');
  console.log(`\nhandler lateness on PostgreSQL: ${HANDLER_COUNT.toLocaleString('en-US')} \`clock\` tasks as in the handler-lateness case, lateness = the handler's first line − due`);
  const handler = {
    setTimeout: await setTimeoutHandlerLateness(),
    leveldb: await spindleHandlerLateness(tasks, workers),
    postgres: await onFreshDatabase((url) => spindleHandlerLateness(tasks, workers, url)),
  };
  table(handler, {
    setTimeout: 'plain setTimeout, same due times (baseline)', leveldb: 'spindle on LevelDB, in the handler', postgres: 'spindle on PostgreSQL, in the handler',
  }, '');
  return { precision, handler };
}

function table(rows: Record<'setTimeout' | 'leveldb' | 'postgres', Lateness>, names: Record<keyof typeof rows, string>, target: string): void {
  const level = rows.leveldb;
  const vs = (x: number, base: number): string => (base > 0 ? (x / base).toFixed(1) : '–');
  console.log('\n| case | p50 ms | p99 ms | max ms | × LevelDB p50 / p99 / max | target |\n|---|---:|---:|---:|---|---|');
  for (const key of ['setTimeout', 'leveldb', 'postgres'] as const) {
    const l = rows[key];
    const r = key === 'setTimeout' ? '' : [vs(l.p50, level.p50), vs(l.p99, level.p99), vs(l.max, level.max)].join(' / ');
    console.log(`| ${names[key]} | ${l.p50} | ${l.p99} | ${l.max} | ${r} | ${key === 'postgres' ? target : ''} |`);
  }
}

/** Null when the server answers, else why not, in one line without the URL (it may hold a password). */
async function unreachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: SERVER, connectionTimeoutMillis: 3000 });
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

/** Runs fn on a database of its own, dropped afterwards whatever fn did. */
async function onFreshDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const name = `spindle_bench_precision_${randomBytes(5).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
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

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await pgPrecision(fileURLToPath(new URL('../../bench/tasks', import.meta.url)), WORKERS);
}
