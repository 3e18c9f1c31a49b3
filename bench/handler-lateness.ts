/**
 * Lateness as the handler sees it: one-shot `at` tasks whose handler's first line reads the clock
 * and returns it as the run's output; lateness = that instant − the task's due time. This counts
 * what `run.started` does not: dispatch to the worker thread and the handler's call. Baseline in
 * the same run: plain setTimeout for the same due times (offsets from the start), read the same way.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime, type RuntimeOptions } from '../src/index.js';
import { type Lateness, percentiles, rounded } from './precision.js';

export const HANDLER_COUNT = 600;
const SPREAD_MS = 4000;
const LEAD_MS = 1000;

/** Wall time with sub-ms precision; Date.now() floors to the ms, which is most of a good p50. */
const preciseNow = (): number => performance.timeOrigin + performance.now();

/** Offsets of HANDLER_COUNT distinct due instants spread over SPREAD_MS, from LEAD_MS on. */
const offsets = Array.from({ length: HANDLER_COUNT }, (_, i) => LEAD_MS + Math.floor((i * SPREAD_MS) / HANDLER_COUNT));

/** Whole-ms due instants (a task's `at` carries ms), the first LEAD_MS from now. */
function dueTimes(): number[] {
  const t0 = Date.now();
  return offsets.map((o) => t0 + o);
}

/** The baseline: plain setTimeout for the same due times, its callback's first line read as the handler's is. */
export async function setTimeoutHandlerLateness(): Promise<Lateness> {
  const due = dueTimes();
  const late = await Promise.all(due.map((d) => new Promise<number>((resolve) => {
    setTimeout(() => resolve(preciseNow() - d), d - Date.now());
  })));
  return rounded(percentiles(late), 2);
}

/**
 * The same due times as one-shot tasks of the `clock` type, on `workers` threads with the default
 * runs per worker unless `options` says; on LevelDB unless it names a store (a PostgreSQL database).
 */
export async function spindleHandlerLateness(tasks: string, workers: number, options: Pick<RuntimeOptions, 'store' | 'runsPerWorker' | 'sync'> = {}): Promise<Lateness> {
  const data = join(tmpdir(), `spindle-bench-handler-${process.pid}`);
  rmSync(data, { recursive: true, force: true });
  const rt = await Runtime.start({ data, tasks, workers, logLevel: 'silent', retention: 'forever', ...options });
  // run.ended can come before submitMany's answer gives the ids (not with a 1 s lead, but cheap to
  // allow): keep the handlers' instants by id and match them at the end.
  const began = new Map<string, number>();
  const done = new Promise<void>((resolve, reject) => {
    rt.subscribe({ types: ['run.ended'], type: 'clock' }, (ev) => {
      if (ev.event !== 'run.ended') return;
      if (typeof ev.data.output !== 'number') reject(new Error(`clock run ${ev.data.id} ended ${ev.data.state} without its instant`));
      began.set(ev.data.id, ev.data.output as number);
      if (began.size === HANDLER_COUNT) resolve();
    });
  });
  const due = dueTimes();
  const views = await rt.submitMany(due.map((d) => ({ type: 'clock', schedule: { at: new Date(d).toISOString() } })));
  await done;
  await rt.stop();
  rmSync(data, { recursive: true, force: true });
  return rounded(percentiles(views.map((v, i) => began.get(v.id)! - due[i]!)), 2);
}
