/**
 * Capacity grows with runtimes: 1, 2 and 3 `spindle start` processes on one PostgreSQL database,
 * each with the same workers and runs per worker, running tasks that wait 50 ms and use no CPU.
 * Processes, not Supervisors in this process: runtimes sharing one process share its event loop
 * and its one core, so adding them would measure that core, not what another runtime adds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Client } from '../src/index.js';
import { onFreshDatabase } from './pg-server.js';
import { connectWhenUp } from './socket-throughput.js';
import { timedAfterWarmUp } from './spindle-throughput.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const TASKS = fileURLToPath(new URL('../../bench/tasks', import.meta.url));
/** Per runtime, whatever the number of runtimes: 2 worker threads × 8 runs = 16 slots, 320 tasks/s at most. */
export const CAPACITY_WORKERS = 2;
export const CAPACITY_RUNS_PER_WORKER = 8;
export const SLEEP_MS = 50;
const WARM_UP = 500;
const POLL_MS = 20;

/** Tasks per second with `runtimes` runtimes: all submitted through the first, counted finished in the database. */
export function capacity(runtimes: number, n: number): Promise<number> {
  return onFreshDatabase('spindle_bench', async (url) => {
    const started: Array<{ child: ChildProcess; data: string; client?: Client }> = [];
    const counter = new pg.Client({ connectionString: url });
    try {
      for (let i = 0; i < runtimes; i++) {
        const data = mkdtempSync(join(tmpdir(), 'spindle-bench-pg-'));
        const child = spawn(process.execPath, [CLI, 'start', '--data', data, '--store', url, '--tasks', TASKS, '--mode', 'threads',
          '--workers', String(CAPACITY_WORKERS), '--runs-per-worker', String(CAPACITY_RUNS_PER_WORKER), '--retention', 'forever', '--log-level', 'warn'],
        { stdio: ['ignore', 'ignore', 'inherit'] });
        started.push({ child, data });
        // One after the other: the first migrates the schema (the others would wait on its lock anyway).
        started[i]!.client = await connectWhenUp(data);
      }
      await counter.connect();
      const submitter = started[0]!.client!;
      const finished = async (): Promise<number> =>
        (await counter.query<{ n: number }>("SELECT count(*)::int AS n FROM spindle_tasks WHERE state = 'finished'")).rows[0]!.n;
      const perSecond = await timedAfterWarmUp(n, (batch) => submitter.submitMany(batch), finished, POLL_MS, WARM_UP, 'sleep50');
      await Promise.all(started.map((s) => s.client!.stop({ wait: true })));
      return perSecond;
    } finally {
      await counter.end().catch(() => undefined);
      for (const s of started) {
        await s.client?.close().catch(() => undefined);
        if (s.child.exitCode === null) s.child.kill('SIGKILL');
        rmSync(s.data, { recursive: true, force: true });
      }
    }
  });
}
