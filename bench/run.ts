/**
 * `npm run bench`: in-process throughput of the durable runtime against raw piscina, and the
 * precision of due times against plain setTimeout, each baseline measured in the same run. Prints
 * tables and writes bench/results.json. Never fails CI; the figures are read next to their
 * baselines because this machine is shared and noisy.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { Runtime } from '../src/index.js';
import { setTimeoutLateness, spindleLateness } from './precision.js';

const N = Number(process.env.BENCH_N ?? 20_000);
const BATCH = 1000;
const WORKERS = 2;
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

async function spindle(options: { sync: boolean; runsPerWorker: number }): Promise<{ perSec: number; rssMb: number }> {
  const data = join(tmpdir(), `spindle-bench-${process.pid}`);
  rmSync(data, { recursive: true, force: true });
  const rt = await Runtime.start({ data, tasks: TASKS, workers: WORKERS, logLevel: 'silent', retention: 'forever', ...options });
  let finished = 0;
  const done = new Promise<void>((resolve) => {
    rt.subscribe({ types: ['task.state'] }, (ev) => {
      if (ev.event === 'task.state' && ev.data.to === 'finished' && ++finished === N) resolve();
    });
  });
  const t0 = performance.now();
  for (let i = 0; i < N; i += BATCH) await rt.submitMany(Array.from({ length: Math.min(BATCH, N - i) }, () => ({ type: 'noop' })));
  await done;
  const ms = performance.now() - t0;
  const rssMb = process.memoryUsage().rss / 1e6;
  await rt.stop();
  rmSync(data, { recursive: true, force: true });
  return { perSec: N / (ms / 1000), rssMb };
}

const machine = `${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`;
console.log(`spindle bench: ${N} no-op one-shot tasks, ${WORKERS} worker threads, submitMany batches of ${BATCH}, in-process`);
console.log(`machine: ${machine}`);
const baseline = await rawPiscina();
const rows: Array<[string, number, string]> = [['raw piscina (baseline)', baseline, '1.00']];
for (const [name, opts] of [
  ['spindle, durable, 1 run per thread', { sync: false, runsPerWorker: 1 }],
  ['spindle, durable, 16 runs per thread', { sync: false, runsPerWorker: 16 }],
  ['spindle, --sync, 16 runs per thread', { sync: true, runsPerWorker: 16 }],
] as const) {
  const r = await spindle(opts);
  rows.push([name, r.perSec, (r.perSec / baseline).toFixed(2)]);
}
console.log('\n| case | tasks/s | × raw piscina |\n|---|---:|---:|');
for (const [name, perSec, ratio] of rows) console.log(`| ${name} | ${Math.round(perSec).toLocaleString('en-US')} | ${ratio} |`);

console.log('\nprecision: 1,000 one-shot tasks due at distinct instants over 5 s; lateness = start − due');
const precision = { 'plain setTimeout (baseline)': await setTimeoutLateness(), spindle: await spindleLateness(TASKS, WORKERS) };
console.log('\n| case | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|');
for (const [name, l] of Object.entries(precision)) console.log(`| ${name} | ${l.p50} | ${l.p99} | ${l.max} |`);
writeFileSync(fileURLToPath(new URL('../../bench/results.json', import.meta.url)), JSON.stringify({ date: new Date().toISOString(), machine, n: N, rows, precision }, null, 2));
