import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../src/index.js';
import type { Mode } from '../src/index.js';

export const WORKERS = 2;
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
 * by polling `stats`, as the socket bench does).
 */
export async function spindleThroughput(n: number, c: ThroughputCase): Promise<number> {
  const data = join(tmpdir(), `spindle-bench-${c.mode}-${process.pid}`);
  rmSync(data, { recursive: true, force: true });
  const rt = await Runtime.start({ data, tasks: TASKS, workers: WORKERS, logLevel: 'silent', retention: 'forever', ...c });
  const t0 = performance.now();
  for (let i = 0; i < n; i += BATCH) await rt.submitMany(Array.from({ length: Math.min(BATCH, n - i) }, () => ({ type: 'noop' })));
  // Counts are kept as states change, so polling them costs the runtime nothing per task.
  while ((rt.stats().states.finished ?? 0) < n) await new Promise((r) => setTimeout(r, 2));
  const ms = performance.now() - t0;
  await rt.stop();
  rmSync(data, { recursive: true, force: true });
  return n / (ms / 1000);
}
