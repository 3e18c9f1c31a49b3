/**
 * `npm run bench` (`-- --full` adds 1,000,000 tasks to the scale case; `-- --only pg` runs only the
 * PostgreSQL cases, bench/pg-run.ts, and replaces their part of results.json): every Spindle figure next
 * to a baseline measured in the same run, because this machine is shared and noisy. Prints
 * markdown tables and writes bench/results.json. Never fails CI: the targets are printed, not
 * asserted.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { cliLatency, printLatency } from './cli-latency.js';
import { HANDLER_COUNT, setTimeoutHandlerLateness, spindleHandlerLateness } from './handler-lateness.js';
import { piscinaLatency, spindleLatency } from './latency.js';
import { pgPrecision } from './pg-precision.js';
import { setTimeoutLateness, spindleLateness } from './precision.js';
import { pgBench } from './pg-run.js';
import { rawIpc } from './processes.js';
import { scale } from './scale.js';
import { socketThroughput } from './socket-throughput.js';
import { spindleThroughput, WARM_UP, WORKERS } from './spindle-throughput.js';

const N = Number(process.env.BENCH_N ?? 20_000);
const FULL = process.argv.includes('--full');
const only = process.argv.indexOf('--only');
const ONLY = only === -1 ? null : process.argv[only + 1];
if (ONLY !== null && ONLY !== 'pg') {
  console.error(`bench: --only takes pg (got ${JSON.stringify(ONLY ?? '')})`);
  process.exit(2);
}
const RESULTS = fileURLToPath(new URL('../../bench/results.json', import.meta.url));
const TASKS = fileURLToPath(new URL('../../bench/tasks', import.meta.url));
const began = performance.now();

async function rawPiscina(): Promise<number> {
  const pool = new Piscina({ filename: fileURLToPath(new URL('./noop-worker.js', import.meta.url)), minThreads: WORKERS, maxThreads: WORKERS });
  await Promise.all(Array.from({ length: WARM_UP }, () => pool.run(null)));
  const t0 = performance.now();
  await Promise.all(Array.from({ length: N }, () => pool.run(null)));
  const ms = performance.now() - t0;
  await pool.destroy();
  return N / (ms / 1000);
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
const ratio = (x: number, base: number): string => (x / base).toFixed(2);
const machine = `${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}`;
console.log(`spindle bench, ${new Date().toISOString().slice(0, 10)}; machine: ${machine}`);

/**
 * The headline cases run ROUNDS times, each right after its own baseline, and report medians:
 * on a shared 2-core machine a single run moves by ±15%, and a ratio taken from one baseline and
 * one later run can be off by as much.
 */
const ROUNDS = 3;
interface Paired {
  base: number;
  value: number;
  ratio: number;
  ratios: number[];
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function paired(baseline: () => Promise<number>, run: () => Promise<number>): Promise<Paired> {
  const rounds: Array<{ base: number; value: number }> = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push({ base: await baseline(), value: await run() });
  const ratios = rounds.map((r) => r.value / r.base).sort((a, b) => a - b);
  return { base: median(rounds.map((r) => r.base)), value: median(rounds.map((r) => r.value)), ratio: median(ratios), ratios };
}
if (ONLY === 'pg') {
  const pg = await pgBench(ROUNDS);
  const earlier = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, 'utf8')) as Record<string, unknown> : {};
  writeFileSync(RESULTS, JSON.stringify({ ...earlier, pg: { date: new Date().toISOString(), machine, ...pg } }, null, 2));
  process.exit(0);
}
const spread = (p: Paired): string => `median of ${ROUNDS} paired runs (${p.ratios.map((r) => r.toFixed(2)).join(', ')}×)`;

console.log(`\nthroughput: ${fmt(N)} no-op one-shot tasks submitted with task.submitMany in batches of 1,000 to \`spindle start\` over its socket, ${WORKERS} workers, every transition durable; first submit to last \`finished\`, after ${fmt(WARM_UP)} untimed (baselines too)`);
// Runs per worker: 1 is the default (CPU-bound handlers); a no-op is async, so many may share a
// worker, which lets one group commit start and finish many runs.
const headline = await paired(rawPiscina, () => socketThroughput(N, { mode: 'threads', workers: WORKERS, runsPerWorker: 256, sync: false }));
const piscina = headline.base;
const socket = {
  threads1: await socketThroughput(N, { mode: 'threads', workers: WORKERS, runsPerWorker: 1, sync: false }),
  threads16: await socketThroughput(N, { mode: 'threads', workers: WORKERS, runsPerWorker: 16, sync: false }),
  sync256: await socketThroughput(N, { mode: 'threads', workers: WORKERS, runsPerWorker: 256, sync: true }),
};
const inProcess256 = await spindleThroughput(N, { mode: 'threads', runsPerWorker: 256, sync: false });
const throughput: Array<[string, number, string, string]> = [
  ['raw piscina, same no-op (baseline, median)', piscina, '1.00', ''],
  ['threads, 1 run per thread (the default config)', socket.threads1, ratio(socket.threads1, piscina), ''],
  ['threads, 16 runs per thread', socket.threads16, ratio(socket.threads16, piscina), ''],
  ['threads, 256 runs per thread', headline.value, headline.ratio.toFixed(2), `≥ 20,000/s and ≥ 0.8×; ${spread(headline)}`],
  ['threads, 256 runs per thread, `--sync`', socket.sync256, ratio(socket.sync256, piscina), `≥ 0.5× default: ${ratio(socket.sync256, headline.value)}×`],
  ['threads, 256 runs per thread, in-process (no socket)', inProcess256, ratio(inProcess256, piscina), ''],
];
console.log('\n| case | tasks/s | × raw piscina | target |\n|---|---:|---:|---|');
for (const [name, perSec, r, target] of throughput) console.log(`| ${name} | ${fmt(perSec)} | ${r} | ${target} |`);

console.log(`\nprocesses mode: the same tasks over the socket on ${WORKERS} child processes, against raw child_process IPC round trips`);
const procHeadline = await paired(() => rawIpc(N), () => socketThroughput(N, { mode: 'processes', workers: WORKERS, runsPerWorker: 256, sync: false }));
const ipc = procHeadline.base;
const proc1 = await socketThroughput(N, { mode: 'processes', workers: WORKERS, runsPerWorker: 1, sync: false });
const proc16 = await socketThroughput(N, { mode: 'processes', workers: WORKERS, runsPerWorker: 16, sync: false });
const processes: Array<[string, number, string, string]> = [
  [`raw child_process IPC round trips, ${WORKERS} children (baseline, median)`, ipc, '1.00', ''],
  ['processes, 1 run per child', proc1, ratio(proc1, ipc), ''],
  ['processes, 16 runs per child', proc16, ratio(proc16, ipc), ''],
  ['processes, 256 runs per child', procHeadline.value, procHeadline.ratio.toFixed(2), `≥ 12,000/s; ${spread(procHeadline)}`],
];
console.log('\n| case | tasks/s | × raw IPC | target |\n|---|---:|---:|---|');
for (const [name, perSec, r, target] of processes) console.log(`| ${name} | ${fmt(perSec)} | ${r} | ${target} |`);

console.log('\nlatency: 2,000 submits/s for 5 s, one `submit` call each (in-process, threads, 16 runs per thread); call to `run.started`');
const latency = { 'raw piscina at the same rate, call to completion (baseline)': await piscinaLatency(WORKERS), spindle: await spindleLatency(TASKS, WORKERS, 16) };
console.log('\n| case | p50 ms | p99 ms | max ms | target |\n|---|---:|---:|---:|---|');
for (const [name, l] of Object.entries(latency)) console.log(`| ${name} | ${l.p50} | ${l.p99} | ${l.max} | ${name === 'spindle' ? 'p99 ≤ 10 ms' : ''} |`);

console.log('\nprecision: 1,000 one-shot tasks due at distinct instants over 5 s; lateness = start − due');
const precision = { 'plain setTimeout (baseline)': await setTimeoutLateness(), spindle: await spindleLateness(TASKS, WORKERS) };
console.log('\n| case | p50 ms | p99 ms | max ms | target |\n|---|---:|---:|---:|---|');
for (const [name, l] of Object.entries(precision)) console.log(`| ${name} | ${l.p50} | ${l.p99} | ${l.max} | ${name === 'spindle' ? 'p99 ≤ 3 ms' : ''} |`);

console.log(`\nhandler lateness: ${fmt(HANDLER_COUNT)} one-shot tasks due at distinct instants over 4 s (in-process, threads, 1 run per thread); lateness = the handler's first line − due, sub-ms clock`);
const setTimeoutHandler = await setTimeoutHandlerLateness();
const spindleHandler = await spindleHandlerLateness(TASKS, WORKERS);
const handler = { 'plain setTimeout, same due times (baseline)': setTimeoutHandler, 'spindle, in the handler': spindleHandler };
const times = (x: number, base: number): string => (base > 0 ? `${(x / base).toFixed(1)}` : '–');
console.log('\n| case | p50 ms | p99 ms | max ms | × setTimeout p50 / p99 / max |\n|---|---:|---:|---:|---|');
for (const [name, l] of Object.entries(handler)) {
  const r = [times(l.p50, setTimeoutHandler.p50), times(l.p99, setTimeoutHandler.p99), times(l.max, setTimeoutHandler.max)].join(' / ');
  console.log(`| ${name} | ${l.p50} | ${l.p99} | ${l.max} | ${r} |`);
}
const pgLateness = await pgPrecision(TASKS, WORKERS);

console.log(`\nscale: queued one-shot tasks due in 30 days; the runtime restarted in a fresh process${FULL ? '' : ' (1,000,000 with --full)'}`);
const scales = [await scale(100_000, TASKS), ...(FULL ? [await scale(1_000_000, TASKS)] : [])];
console.log('\n| queued | fill (submits/s) | store on disk | start to ready | RSS | `list --state queued --limit 100` | `pending --limit 100` |\n|---:|---:|---:|---:|---:|---:|---:|');
for (const s of scales) console.log(`| ${fmt(s.n)} | ${fmt(s.fillPerSec)} | ${s.storeMb} MB | ${s.readyMs} ms | ${s.rssMb} MB | ${s.listMs} ms | ${s.pendingMs} ms |`);
console.log('targets with 1,000,000 queued: RSS ≤ 200 MB, start to ready ≤ 2 s, first pages ≤ 50 ms');

console.log('\nCLI and entries: median wall time of 15 interleaved runs of each short-lived process (npm start\'s time to ready: npm run bench:cli)');
const cli = await cliLatency();
printLatency(cli, 'bare node');

const pg = await pgBench(ROUNDS);

const seconds = Math.round((performance.now() - began) / 1000);
console.log(`\nthe suite took ${seconds} s`);
writeFileSync(RESULTS, JSON.stringify({
  date: new Date().toISOString(), machine, n: N, seconds, throughput, processes, latency, precision, handler, pgLateness, scale: scales, cli, pg,
}, null, 2));
