/**
 * Where the database's time goes per task: the PostgreSQL throughput case of Spindle and of
 * graphile-worker, each with the server's statement statistics reset before it, then the top
 * statements by execution time per task (with buffers and WAL per task), the WAL per task and
 * the machine's CPU per task (all processes: the runtime, the server and the submitter). Not part
 * of `npm run bench`: it needs a server that loads pg_stat_statements
 * (shared_preload_libraries), which the test machines' server does not; point SPINDLE_BENCH_PG at
 * one that does. `node dist/bench/pg-statements.js [N]`.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { PG_SERVER, unreachable } from './pg-server.js';
import { graphileThroughput, PG_WARM_UP, spindlePgThroughput } from './pg-throughput.js';

const N = Number(process.argv[2] ?? 30_000);
const TOP = 12;

/** The machine's busy CPU time so far, in µs (user, nice, system, irq, softirq of /proc/stat, counted in 1/100 s). */
function machineCpuUs(): number {
  const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq!) * 10_000;
}

interface Statement { calls: string; ms: number; hit: string; wal: string; query: string }

async function profile(admin: pg.Client, name: string, run: () => Promise<number>): Promise<void> {
  await admin.query('SELECT pg_stat_statements_reset()');
  const lsn = (await admin.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l;
  const cpu = machineCpuUs();
  const perSec = await run();
  const tasks = N + PG_WARM_UP;
  const cpuPerTask = (machineCpuUs() - cpu) / tasks;
  const wal = (await admin.query<{ b: number }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::float8 AS b', [lsn])).rows[0]!.b;
  // By text: a statement naming a temporary function has an id per connection (each its own pg_temp).
  const { rows } = await admin.query<Statement>(`SELECT sum(calls)::text AS calls, sum(total_exec_time) AS ms, sum(shared_blks_hit)::text AS hit,
      sum(wal_bytes)::text AS wal, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query
    FROM pg_stat_statements WHERE toplevel GROUP BY query ORDER BY ms DESC LIMIT ${TOP}`);
  const total = (await admin.query<{ ms: number }>('SELECT coalesce(sum(total_exec_time), 0)::float8 AS ms FROM pg_stat_statements WHERE toplevel')).rows[0]!.ms;
  const per = (x: number): string => (x / tasks).toFixed(1);
  console.log(`\n${name}: ${Math.round(perSec).toLocaleString('en-US')} tasks/s; per task (${tasks.toLocaleString('en-US')}, warm-up and setup included): `
    + `statements ${per(total * 1000)} µs, WAL ${Math.round(wal / tasks)} B, machine CPU ${Math.round(cpuPerTask)} µs`);
  console.log('| µs/task | calls | buffers/task | WAL B/task | statement |\n|---:|---:|---:|---:|---|');
  for (const r of rows) console.log(`| ${per(r.ms * 1000)} | ${r.calls} | ${per(Number(r.hit))} | ${Math.round(Number(r.wal) / tasks)} | \`${r.query}\` |`);
}

const why = await unreachable();
if (why !== null) {
  console.log(`pg-statements: the server does not answer (${why}); set SPINDLE_BENCH_PG`);
  process.exit(0);
}
const admin = new pg.Client({ connectionString: PG_SERVER });
await admin.connect();
try {
  const loaded = (await admin.query<{ on: boolean }>("SELECT 'pg_stat_statements' = ANY(string_to_array(current_setting('shared_preload_libraries'), ', ')) AS on")).rows[0]!.on;
  if (!loaded) {
    console.log('pg-statements: the server does not load pg_stat_statements (shared_preload_libraries); point SPINDLE_BENCH_PG at one that does');
  } else {
    await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await profile(admin, 'Spindle on PostgreSQL, retention 0', () => spindlePgThroughput(N, '0'));
    await profile(admin, 'Spindle on PostgreSQL, every task kept', () => spindlePgThroughput(N));
    await profile(admin, 'graphile-worker', () => graphileThroughput(N));
  }
} finally {
  await admin.end();
}
