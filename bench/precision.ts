import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime, type RuntimeOptions } from '../src/index.js';

/** Lateness percentiles in ms. */
export interface Lateness {
  p50: number;
  p99: number;
  max: number;
}

const COUNT = 1000;
const SPREAD_MS = 5000;
const LEAD_MS = 1000;

/** Distinct due instants spread evenly over SPREAD_MS, starting LEAD_MS from now. */
function dueTimes(): number[] {
  const t0 = Date.now() + LEAD_MS;
  return Array.from({ length: COUNT }, (_, i) => t0 + Math.floor((i * SPREAD_MS) / COUNT));
}

export function percentiles(samples: number[]): Lateness {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: at(0.5), p99: at(0.99), max: s[s.length - 1]! };
}

/** Lateness rounded to `decimals` places of a ms, for the tables. */
export function rounded(l: Lateness, decimals = 1): Lateness {
  const round = (ms: number): number => Math.round(ms * 10 ** decimals) / 10 ** decimals;
  return { p50: round(l.p50), p99: round(l.p99), max: round(l.max) };
}

/** The baseline: plain setTimeout for the same instants. */
export async function setTimeoutLateness(): Promise<Lateness> {
  const due = dueTimes();
  const late = await Promise.all(due.map((d) => new Promise<number>((resolve) => setTimeout(() => resolve(Date.now() - d), d - Date.now()))));
  return percentiles(late);
}

/**
 * One-shot `at` tasks: lateness is the run's recorded start (run.started's startedAt) minus the
 * task's due time. Not the event's arrival: a run claimed ahead of its due time announces its start
 * when the start is written, up to the claim lead before the run is sent (handler-lateness.ts
 * measures when handlers really start). On LevelDB in a fresh data directory unless `options`
 * names a store (a PostgreSQL database).
 */
export async function spindleLateness(tasks: string, workers: number, options: Pick<RuntimeOptions, 'store' | 'runsPerWorker' | 'sync'> = {}): Promise<Lateness> {
  const data = join(tmpdir(), `spindle-bench-precision-${process.pid}`);
  rmSync(data, { recursive: true, force: true });
  const rt = await Runtime.start({ data, tasks, workers, logLevel: 'silent', retention: 'forever', ...options });
  const due = dueTimes();
  const dueOf = new Map<string, number>();
  const late: number[] = [];
  const done = new Promise<void>((resolve) => {
    rt.subscribe({ types: ['run.started'] }, (ev) => {
      if (ev.event !== 'run.started') return;
      late.push(Date.parse(ev.data.startedAt) - dueOf.get(ev.data.id)!);
      if (late.length === COUNT) resolve();
    });
  });
  const views = await rt.submitMany(due.map((d) => ({ type: 'noop', schedule: { at: new Date(d).toISOString() } })));
  views.forEach((v, i) => dueOf.set(v.id, due[i]!));
  await done;
  await rt.stop();
  rmSync(data, { recursive: true, force: true });
  return percentiles(late);
}
