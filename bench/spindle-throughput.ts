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
 * on WORKERS workers: tasks per second from the first submit to the last `finished`.
 */
export async function spindleThroughput(n: number, c: ThroughputCase): Promise<number> {
  const data = join(tmpdir(), `spindle-bench-${c.mode}-${process.pid}`);
  rmSync(data, { recursive: true, force: true });
  const rt = await Runtime.start({ data, tasks: TASKS, workers: WORKERS, logLevel: 'silent', retention: 'forever', ...c });
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
