import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../src/index.js';
import type { Mode } from '../src/index.js';

export const WORKERS = 2;
/**
 * Every throughput case, baselines included, first runs this many untimed: a runtime is a
 * long-lived process, and the first thousands of tasks in a fresh one measure V8 compiling the hot
 * path on the same two cores (about a third of the other core's time in a cold 20,000-task run).
 */
export const WARM_UP = 5_000;
const BATCH = 1000;
const TASKS = fileURLToPath(new URL('../../bench/tasks', import.meta.url));

export interface ThroughputCase {
  mode: Mode;
  runsPerWorker: number;
  sync: boolean;
}

/**
 * N no-op one-shot tasks through the durable runtime in-process, submitMany in batches of 1,000,
 * on WORKERS workers: tasks per second from the first submit to the last `finished` (counted
 * by polling `stats`, as the socket bench does), after WARM_UP tasks untimed.
 */
export async function spindleThroughput(n: number, c: ThroughputCase): Promise<number> {
  const data = join(tmpdir(), `spindle-bench-${c.mode}-${process.pid}`);
  rmSync(data, { recursive: true, force: true });
  const rt = await Runtime.start({ data, tasks: TASKS, workers: WORKERS, logLevel: 'silent', retention: 'forever', ...c });
  // Counts are kept as states change, so polling them costs the runtime nothing per task.
  const perSecond = await timedAfterWarmUp(n, (batch) => rt.submitMany(batch), () => rt.stats().states.finished ?? 0, 2);
  await rt.stop();
  rmSync(data, { recursive: true, force: true });
  return perSecond;
}

/**
 * The timing every Spindle throughput case shares: WARM_UP no-op tasks submitted and finished
 * untimed (warmUp of them where given), then n more in batches of 1,000, one batch after the
 * other; tasks per second from the first timed submit until `finished()` counts them all (polled
 * every pollMs).
 */
export async function timedAfterWarmUp(
  n: number,
  submitMany: (batch: Array<{ type: string }>) => Promise<unknown>,
  finished: () => number | Promise<number>,
  pollMs: number,
  warmUp = WARM_UP,
  type = 'noop',
): Promise<number> {
  const submitAll = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i += BATCH) await submitMany(Array.from({ length: Math.min(BATCH, count - i) }, () => ({ type })));
  };
  const finishedAll = async (count: number): Promise<void> => {
    while ((await finished()) < count) await new Promise((r) => setTimeout(r, pollMs));
  };
  await submitAll(warmUp);
  await finishedAll(warmUp);
  const t0 = performance.now();
  await submitAll(n);
  await finishedAll(warmUp + n);
  return n / ((performance.now() - t0) / 1000);
}
