/**
 * Processes mode against a raw child_process IPC round trip, threads mode alongside, all measured
 * in the same run. `processesThroughput(n)` returns the rows; bench/run.ts prints them.
 */
import { fork } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../src/index.js';
import type { Mode } from '../src/index.js';

/** [case, per second, ratio to the baseline]. */
export type ThroughputRow = [string, number, string];

const WORKERS = 2;
const BATCH = 1000;
const TASKS = fileURLToPath(new URL('../../bench/tasks', import.meta.url));

/** N messages spread over WORKERS forked children, all in flight at once; round trips per second. */
async function rawIpc(n: number): Promise<number> {
  const children = Array.from({ length: WORKERS }, () => fork(fileURLToPath(new URL('./ipc-echo-child.js', import.meta.url)), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] }));
  const roundTrips = async (count: number): Promise<void> => {
    let answered = 0;
    await new Promise<void>((resolve) => {
      const onMessage = (): void => {
        if (++answered === count) resolve();
      };
      for (const child of children) child.on('message', onMessage);
      for (let i = 0; i < count; i++) children[i % WORKERS]!.send({ type: 'run', runId: `r${i}` });
    });
    for (const child of children) child.removeAllListeners('message');
  };
  await roundTrips(WORKERS * 100); // warm-up: both children loaded and JIT-ed
  const t0 = performance.now();
  await roundTrips(n);
  const ms = performance.now() - t0;
  await Promise.all(children.map((child) => new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill();
  })));
  return n / (ms / 1000);
}

/** N no-op one-shot tasks through the durable runtime: submit to the last `finished`. */
async function spindle(n: number, mode: Mode, runsPerWorker: number): Promise<number> {
  const data = join(tmpdir(), `spindle-bench-${mode}-${process.pid}`);
  rmSync(data, { recursive: true, force: true });
  const rt = await Runtime.start({ data, tasks: TASKS, mode, workers: WORKERS, runsPerWorker, logLevel: 'silent', retention: 'forever' });
  let finished = 0;
  const done = new Promise<void>((resolve) => {
    rt.subscribe({ types: ['task.state'] }, (ev) => {
      if (ev.event === 'task.state' && ev.data.to === 'finished' && ++finished === n) resolve();
    });
  });
  const t0 = performance.now();
  for (let i = 0; i < n; i += BATCH) await rt.submitMany(Array.from({ length: Math.min(BATCH, n - i) }, () => ({ type: 'noop' })));
  await done;
  const ms = performance.now() - t0;
  await rt.stop();
  rmSync(data, { recursive: true, force: true });
  return n / (ms / 1000);
}

/** Rows for `n` no-op tasks on 2 workers; ratios are to the raw IPC baseline. */
export async function processesThroughput(n: number): Promise<ThroughputRow[]> {
  const baseline = await rawIpc(n);
  const rows: ThroughputRow[] = [[`raw child_process IPC round trips, ${WORKERS} children (baseline)`, baseline, '1.00']];
  for (const [name, mode, runsPerWorker] of [
    ['spindle processes, 1 run per child', 'processes', 1],
    ['spindle processes, 16 runs per child', 'processes', 16],
    ['spindle threads, 1 run per thread', 'threads', 1],
    ['spindle threads, 16 runs per thread', 'threads', 16],
  ] as const) {
    const perSec = await spindle(n, mode, runsPerWorker);
    rows.push([name, perSec, (perSec / baseline).toFixed(2)]);
  }
  return rows;
}
