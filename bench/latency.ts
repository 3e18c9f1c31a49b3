/**
 * Latency under a steady load: 2,000 submits/s for 5 s, each a separate `submit` call, measured
 * from the call to its `run.started` event. Baseline in the same run: raw piscina called at the
 * same rate, from the call to the no-op's completion.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { Runtime } from '../src/index.js';
import { type Lateness, percentiles, rounded } from './precision.js';

const RATE = 2000;
const SECONDS = 5;
const TICK_MS = 10;

/** Calls `fire` RATE times a second for SECONDS, catching up after a late tick; resolves once all have fired. */
function steady(fire: () => void): Promise<void> {
  const total = RATE * SECONDS;
  const t0 = performance.now();
  let fired = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
      for (; fired < due; fired++) fire();
      if (fired === total) {
        clearInterval(timer);
        resolve();
      }
    }, TICK_MS);
  });
}

export async function piscinaLatency(workers: number): Promise<Lateness> {
  const pool = new Piscina({ filename: fileURLToPath(new URL('./noop-worker.js', import.meta.url)), minThreads: workers, maxThreads: workers });
  await Promise.all(Array.from({ length: workers * 4 }, () => pool.run(null)));
  const samples: number[] = [];
  const calls: Array<Promise<unknown>> = [];
  await steady(() => {
    const t0 = performance.now();
    calls.push(pool.run(null).then(() => samples.push(performance.now() - t0)));
  });
  await Promise.all(calls);
  await pool.destroy();
  return rounded(percentiles(samples));
}

export async function spindleLatency(tasks: string, workers: number, runsPerWorker: number): Promise<Lateness> {
  const data = join(tmpdir(), `spindle-bench-latency-${process.pid}`);
  rmSync(data, { recursive: true, force: true });
  const rt = await Runtime.start({ data, tasks, workers, runsPerWorker, logLevel: 'silent', retention: 'forever' });
  // The start event can come before the submit's answer (one commit holds both): match them by id at the end.
  const startedAt = new Map<string, number>();
  rt.subscribe({ types: ['run.started'] }, (ev) => {
    if (ev.event === 'run.started') startedAt.set(ev.data.id, performance.now());
  });
  const submittedAt = new Map<string, number>();
  const calls: Array<Promise<unknown>> = [];
  await steady(() => {
    const t0 = performance.now();
    calls.push(rt.submit({ type: 'noop' }).then((task) => submittedAt.set(task.id, t0)));
  });
  await Promise.all(calls);
  while (startedAt.size < submittedAt.size) await new Promise((r) => setTimeout(r, 5));
  await rt.stop();
  rmSync(data, { recursive: true, force: true });
  return rounded(percentiles([...submittedAt].map(([id, t0]) => startedAt.get(id)! - t0)));
}
