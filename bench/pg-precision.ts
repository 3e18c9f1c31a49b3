/**
 * Due-time precision on PostgreSQL: the precision and handler-lateness cases of precision.ts and
 * handler-lateness.ts, run on a real runtime whose store is a database this module creates and
 * drops, each beside plain setTimeout and the LevelDB runtime measured in the same run (this
 * machine is shared and noisy: figures from another run are not comparable). Skipped, with one
 * line, when the server does not answer. Alone: `node dist/bench/pg-precision.js`.
 */
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { HANDLER_COUNT, setTimeoutHandlerLateness, spindleHandlerLateness } from './handler-lateness.js';
import { onFreshDatabase, PG_SERVER } from './pg-server.js';
import { type Lateness, setTimeoutLateness, spindleLateness } from './precision.js';
import { WORKERS } from './spindle-throughput.js';

type Rows = Array<[string, Lateness]>;
const DB_PREFIX = 'spindle_bench_precision';

export interface PgPrecision {
  precision: Rows;
  handler: Rows;
}

/**
 * Both cases, printed as tables; null (after one line saying why) when PostgreSQL does not answer.
 * PostgreSQL twice: as LevelDB runs (1 run per thread, so 2 slots), and with 16 runs per thread,
 * where a slot is not held through two commits per task and the figure is the wake and the
 * claim's commit alone (at 200 tasks/s a WAL flush of ~10 ms per transaction outruns 2 slots).
 */
export async function pgPrecision(tasks: string, workers: number): Promise<PgPrecision | null> {
  const { down, syncCommit } = await server();
  if (down !== null) {
    console.log(`\nprecision on PostgreSQL: skipped, the server does not answer (${down}); SPINDLE_BENCH_PG names another`);
    return null;
  }
  console.log(`\nprecision on PostgreSQL: the precision case (lateness = \`run.started\` − due) on a runtime with \`store: 'postgres://…'\` on the local server (synchronous_commit ${syncCommit}), beside setTimeout and LevelDB in the same run; target: p99 ≤ 2× LevelDB and ≤ LevelDB + 3 ms`);
  const precision: Rows = [
    ['plain setTimeout (baseline)', await setTimeoutLateness()],
    ['spindle on LevelDB', await spindleLateness(tasks, workers)],
    ['spindle on LevelDB, `sync` (an fsync per commit, as PostgreSQL does)', await spindleLateness(tasks, workers, { sync: true })],
    ['spindle on PostgreSQL', await onFreshDatabase(DB_PREFIX, (store) => spindleLateness(tasks, workers, { store }))],
    ['spindle on PostgreSQL, 16 runs per thread', await onFreshDatabase(DB_PREFIX, (store) => spindleLateness(tasks, workers, { store, runsPerWorker: 16 }))],
  ];
  table(precision);
  console.log(`\nhandler lateness on PostgreSQL: ${HANDLER_COUNT.toLocaleString('en-US')} \`clock\` tasks as in the handler-lateness case; lateness = the handler's first line − due`);
  const handler: Rows = [
    ['plain setTimeout, same due times (baseline)', await setTimeoutHandlerLateness()],
    ['spindle on LevelDB, in the handler', await spindleHandlerLateness(tasks, workers)],
    ['spindle on PostgreSQL, in the handler', await onFreshDatabase(DB_PREFIX, (store) => spindleHandlerLateness(tasks, workers, { store }))],
    ['spindle on PostgreSQL, 16 runs per thread, in the handler', await onFreshDatabase(DB_PREFIX, (store) => spindleHandlerLateness(tasks, workers, { store, runsPerWorker: 16 }))],
  ];
  table(handler);
  return { precision, handler };
}

/** Each row with its ratios to the LevelDB row (the second). */
function table(rows: Rows): void {
  const level = rows[1]![1];
  const vs = (x: number, base: number): string => (base > 0 ? (x / base).toFixed(1) : '–');
  console.log('\n| case | p50 ms | p99 ms | max ms | × LevelDB p50 / p99 / max |\n|---|---:|---:|---:|---|');
  for (const [i, [name, l]] of rows.entries()) {
    const r = i === 0 ? '' : [vs(l.p50, level.p50), vs(l.p99, level.p99), vs(l.max, level.max)].join(' / ');
    console.log(`| ${name} | ${l.p50} | ${l.p99} | ${l.max} | ${r} |`);
  }
}

/** `down`: null when the server answers, else why not in one line without the URL (it may hold a password). */
async function server(): Promise<{ down: string | null; syncCommit: string }> {
  const client = new pg.Client({ connectionString: PG_SERVER, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const rows = await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
    return { down: null, syncCommit: rows.rows[0]!.synchronous_commit };
  } catch (err) {
    return { down: (err as Error).message.split('\n')[0] ?? String(err), syncCommit: '' };
  } finally {
    await client.end().catch(() => undefined);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await pgPrecision(fileURLToPath(new URL('../../bench/tasks', import.meta.url)), WORKERS);
}
