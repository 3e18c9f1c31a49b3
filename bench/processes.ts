/**
 * Processes mode against a raw child_process IPC round trip measured in the same run.
 * `processesThroughput(n)` returns the rows; bench/run.ts prints them.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spindleThroughput, WORKERS } from './spindle-throughput.js';

/** [case, per second, ratio to the baseline]. */
export type ThroughputRow = [string, number, string];


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

/** Rows for `n` no-op tasks on 2 workers; ratios are to the raw IPC baseline. */
export async function processesThroughput(n: number): Promise<ThroughputRow[]> {
  const baseline = await rawIpc(n);
  const rows: ThroughputRow[] = [[`raw child_process IPC round trips, ${WORKERS} children (baseline)`, baseline, '1.00']];
  for (const [name, mode, runsPerWorker] of [
    ['spindle processes, 1 run per child', 'processes', 1],
    ['spindle processes, 16 runs per child', 'processes', 16],
  ] as const) {
    const perSec = await spindleThroughput(n, { mode, runsPerWorker, sync: false });
    rows.push([name, perSec, (perSec / baseline).toFixed(2)]);
  }
  return rows;
}
