/**
 * The PostgreSQL cases of `npm run bench` (alone with `-- --only pg`): capacity as runtimes are
 * added, and one runtime's throughput next to graphile-worker and to Spindle on LevelDB. Skipped,
 * with one line saying why, when the server does not answer.
 */
import { capacity, CAPACITY_RUNS_PER_WORKER, CAPACITY_WORKERS, SLEEP_MS } from './pg-capacity.js';
import { PG_SERVER, unreachable } from './pg-server.js';
import { graphileDrain, graphileThroughput, PG_CONCURRENCY, PG_RUNS_PER_WORKER, PG_WARM_UP, spindleLevelThroughput, spindlePgDrain, spindlePgThroughput } from './pg-throughput.js';
import { WORKERS } from './spindle-throughput.js';

export interface PgResults {
  skipped?: string;
  capacity?: Array<{ runtimes: number; perSec: number; ratio: number }>;
  throughput?: Array<{ name: string; perSec: number; ratio: number }>;
  burst?: Array<{ name: string; perSec: number; ratio: number }>;
  drain?: Array<{ name: string; perSec: number; ratio: number }>;
}

const CAPACITY_N = Number(process.env.BENCH_PG_CAPACITY_N ?? 4_000);
const THROUGHPUT_N = Number(process.env.BENCH_PG_N ?? 30_000);
/** Tasks stored first, then drained (see spindlePgDrain). */
const DRAIN_N = Number(process.env.BENCH_PG_DRAIN_N ?? 300_000);
/** The throughput case again, with this many tasks: a burst whose queue outgrows what the statistics describe. */
const BURST_N = Number(process.env.BENCH_PG_BURST_N ?? 150_000);
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function pgBench(rounds: number): Promise<PgResults> {
  const why = await unreachable();
  if (why !== null) {
    const host = new URL(PG_SERVER).host;
    console.log(`\nPostgreSQL cases skipped: the server at ${host} does not answer (${why}); set SPINDLE_BENCH_PG to run them`);
    return { skipped: why };
  }

  console.log(`\ncapacity on PostgreSQL: ${fmt(CAPACITY_N)} one-shot tasks that each wait ${SLEEP_MS} ms (no CPU), submitted through the first runtime; 1, 2 and 3 \`spindle start\` processes on one database, each ${CAPACITY_WORKERS} workers × ${CAPACITY_RUNS_PER_WORKER} runs (at most ${fmt(CAPACITY_WORKERS * CAPACITY_RUNS_PER_WORKER * 1000 / SLEEP_MS)} tasks/s per runtime); first submit to the last \`finished\` in the database; median of ${rounds} rounds`);
  const byRuntimes = new Map<number, number[]>([[1, []], [2, []], [3, []]]);
  for (let r = 0; r < rounds; r++) for (const k of byRuntimes.keys()) byRuntimes.get(k)!.push(await capacity(k, CAPACITY_N));
  const one = median(byRuntimes.get(1)!);
  const cap = [...byRuntimes].map(([runtimes, xs]) => ({ runtimes, perSec: median(xs), ratio: median(xs) / one }));
  console.log('\n| runtimes | tasks/s | × one runtime | target |\n|---:|---:|---:|---|');
  for (const c of cap) console.log(`| ${c.runtimes} | ${fmt(c.perSec)} | ${c.ratio.toFixed(2)} | ${c.runtimes === 3 ? '≥ 2×' : ''} |`);

  console.log(`\nthroughput on PostgreSQL: ${fmt(THROUGHPUT_N)} no-op one-shot tasks in batches of 1,000, one runtime, concurrency ${PG_CONCURRENCY} (${WORKERS} workers × ${PG_RUNS_PER_WORKER} runs; graphile-worker concurrentJobs ${PG_CONCURRENCY}, local queue, batched completions), each on a fresh database on the same server, after ${fmt(PG_WARM_UP)} untimed; median of ${rounds} rounds`);
  const runs = { pg: [] as number[], pgNone: [] as number[], graphile: [] as number[], level: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    runs.graphile.push(await graphileThroughput(THROUGHPUT_N));
    runs.pgNone.push(await spindlePgThroughput(THROUGHPUT_N, '0'));
    runs.pg.push(await spindlePgThroughput(THROUGHPUT_N));
    runs.level.push(await spindleLevelThroughput(THROUGHPUT_N));
  }
  const throughput = versusGraphile([
    { name: 'graphile-worker on PostgreSQL (baseline)', runs: runs.graphile },
    { name: 'Spindle on PostgreSQL, retention 0 (nothing kept, as graphile-worker)', runs: runs.pgNone, target: '> 1×' },
    { name: 'Spindle on PostgreSQL, every task kept', runs: runs.pg },
    { name: 'Spindle on LevelDB', runs: runs.level },
  ]);

  console.log(`\na long burst on PostgreSQL: the throughput case with ${fmt(BURST_N)} tasks (retention 0), submitted faster than they run, so a queue of tens of thousands builds up; the databases fresh, so without statistics, as a server's are for a queue that outgrew what its last ANALYZE saw (until autovacuum analyzes it again, within its naptime); median of ${rounds} rounds`);
  const bursts = { graphile: [] as number[], pgNone: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    bursts.graphile.push(await graphileThroughput(BURST_N));
    bursts.pgNone.push(await spindlePgThroughput(BURST_N, '0'));
  }
  const burst = versusGraphile([
    { name: 'graphile-worker on PostgreSQL (baseline)', runs: bursts.graphile },
    { name: 'Spindle on PostgreSQL, retention 0', runs: bursts.pgNone },
  ]);

  console.log(`\ndraining a backlog on PostgreSQL: ${fmt(DRAIN_N)} no-op tasks stored first (Spindle: submitted with the type paused; graphile-worker: added before its worker starts), the database analyzed, then run by one runtime, concurrency ${PG_CONCURRENCY}; from resume-type (graphile-worker: its worker ready) to the last durable completion; median of ${rounds} rounds`);
  const drains = { graphile: [] as number[], pgNone: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    drains.graphile.push(await graphileDrain(DRAIN_N));
    drains.pgNone.push(await spindlePgDrain(DRAIN_N));
  }
  const drain = versusGraphile([
    { name: 'graphile-worker on PostgreSQL (baseline)', runs: drains.graphile },
    { name: 'Spindle on PostgreSQL, retention 0', runs: drains.pgNone },
  ]);
  return { capacity: cap, throughput, burst, drain };
}

/** The cases' medians beside the first's (graphile-worker), printed as a table, then each case's rounds. */
function versusGraphile(cases: Array<{ name: string; runs: number[]; target?: string }>): Array<{ name: string; perSec: number; ratio: number }> {
  const base = median(cases[0]!.runs);
  const rows = cases.map((c) => ({ name: c.name, perSec: median(c.runs), ratio: median(c.runs) / base }));
  console.log('\n| case | tasks/s | × graphile-worker | target |\n|---|---:|---:|---|');
  cases.forEach((c, i) => console.log(`| ${c.name} | ${fmt(rows[i]!.perSec)} | ${rows[i]!.ratio.toFixed(2)} | ${c.target ?? ''} |`));
  console.log(`rounds (tasks/s): ${cases.map((c) => `${c.name} ${c.runs.map(fmt).join(', ')}`).join('; ')}`);
  return rows;
}
