/**
 * `npm run bench`: in-process throughput of the durable runtime against raw piscina, and the
 * precision of due times against plain setTimeout, each baseline measured in the same run. Prints
 * tables and writes bench/results.json. Never fails CI; the figures are read next to their
 * baselines because this machine is shared and noisy.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { setTimeoutLateness, spindleLateness } from './precision.js';
import { processesThroughput } from './processes.js';
import { spindleThroughput, WORKERS } from './spindle-throughput.js';

const N = Number(process.env.BENCH_N ?? 20_000);
const BATCH = 1000;
const TASKS = fileURLToPath(new URL('../../bench/tasks', import.meta.url));

async function rawPiscina(): Promise<number> {
  const pool = new Piscina({ filename: fileURLToPath(new URL('./noop-worker.js', import.meta.url)), minThreads: WORKERS, maxThreads: WORKERS });
  await Promise.all(Array.from({ length: WORKERS * 4 }, () => pool.run(null)));
  const t0 = performance.now();
  await Promise.all(Array.from({ length: N }, () => pool.run(null)));
  const ms = performance.now() - t0;
  await pool.destroy();
  return N / (ms / 1000);
}

const machine = `${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`;
console.log(`spindle bench: ${N} no-op one-shot tasks, ${WORKERS} worker threads, submitMany batches of ${BATCH}, in-process`);
console.log(`machine: ${machine}`);
const baseline = await rawPiscina();
const rows: Array<[string, number, string]> = [['raw piscina (baseline)', baseline, '1.00']];
for (const [name, opts] of [
  ['spindle, durable, 1 run per thread', { mode: 'threads', sync: false, runsPerWorker: 1 }],
  ['spindle, durable, 16 runs per thread', { mode: 'threads', sync: false, runsPerWorker: 16 }],
  ['spindle, --sync, 16 runs per thread', { mode: 'threads', sync: true, runsPerWorker: 16 }],
] as const) {
  const perSec = await spindleThroughput(N, opts);
  rows.push([name, perSec, (perSec / baseline).toFixed(2)]);
}
console.log('\n| case | tasks/s | × raw piscina |\n|---|---:|---:|');
for (const [name, perSec, ratio] of rows) console.log(`| ${name} | ${Math.round(perSec).toLocaleString('en-US')} | ${ratio} |`);

console.log('\nprocesses mode: the same no-op tasks on 2 child processes, against raw child_process IPC round trips');
const processes = await processesThroughput(N);
console.log('\n| case | tasks/s | × raw IPC |\n|---|---:|---:|');
for (const [name, perSec, ratio] of processes) console.log(`| ${name} | ${Math.round(perSec).toLocaleString('en-US')} | ${ratio} |`);

console.log('\nprecision: 1,000 one-shot tasks due at distinct instants over 5 s; lateness = start − due');
const precision = { 'plain setTimeout (baseline)': await setTimeoutLateness(), spindle: await spindleLateness(TASKS, WORKERS) };
console.log('\n| case | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|');
for (const [name, l] of Object.entries(precision)) console.log(`| ${name} | ${l.p50} | ${l.p99} | ${l.max} |`);
writeFileSync(fileURLToPath(new URL('../../bench/results.json', import.meta.url)), JSON.stringify({ date: new Date().toISOString(), machine, n: N, rows, processes, precision }, null, 2));
