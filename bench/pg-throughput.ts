/**
 * One runtime's no-op throughput on PostgreSQL, next to graphile-worker on the same server and to
 * Spindle on LevelDB, in one run: each on a fresh database of its own, dropped after.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { makeWorkerUtils, Logger } from 'graphile-worker';
import { onFreshDatabase } from './pg-server.js';
import { socketThroughput } from './socket-throughput.js';
import { timedAfterWarmUp, WORKERS } from './spindle-throughput.js';

/** Runs per worker thread: the same concurrency (WORKERS × this) is graphile-worker's concurrentJobs. */
export const PG_RUNS_PER_WORKER = 256;
export const PG_CONCURRENCY = WORKERS * PG_RUNS_PER_WORKER;
/** Untimed tasks first, in every case (see WARM_UP in spindle-throughput.ts). */
export const PG_WARM_UP = 3_000;

/**
 * Spindle on PostgreSQL: `spindle start --store postgres://…` over its socket, as the LevelDB case;
 * every task kept (`--retention forever`), or none (`--retention 0`: each deleted by the write that
 * ends it, as graphile-worker deletes a job when it completes).
 */
export function spindlePgThroughput(n: number, retention: 'forever' | '0' = 'forever'): Promise<number> {
  return onFreshDatabase('spindle_bench', (url) => socketThroughput(n, {
    mode: 'threads', workers: WORKERS, runsPerWorker: PG_RUNS_PER_WORKER, sync: false, store: url, warmUp: PG_WARM_UP, retention,
  }));
}

/** Spindle on LevelDB, the same tasks and settings. */
export function spindleLevelThroughput(n: number): Promise<number> {
  return socketThroughput(n, { mode: 'threads', workers: WORKERS, runsPerWorker: PG_RUNS_PER_WORKER, sync: false, warmUp: PG_WARM_UP });
}

/**
 * graphile-worker in a process of its own, the jobs added with addJobs in batches of 1,000 from
 * here; done when its jobs table is empty (a job's row goes when its completion commits, so this
 * counts durable completions, as Spindle's `finished` does).
 */
export function graphileThroughput(n: number): Promise<number> {
  return onFreshDatabase('graphile_bench', async (url) => {
    const silent = new Logger(() => () => undefined);
    const utils = await makeWorkerUtils({ connectionString: url, logger: silent });
    await utils.migrate();
    const child = fork(fileURLToPath(new URL('./graphile-child.js', import.meta.url)), [url, String(PG_CONCURRENCY)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const counter = new pg.Client({ connectionString: url });
    await counter.connect();
    try {
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('exit', (code) => reject(new Error(`graphile-worker exited early (code ${code})`)));
      });
      let added = 0;
      const perSecond = await timedAfterWarmUp(n, async (batch) => {
        await utils.addJobs(batch.map(() => ({ identifier: 'noop', payload: {} })));
        added += batch.length;
      }, async () => {
        const { rows } = await counter.query<{ n: number }>('SELECT count(*)::int AS n FROM graphile_worker._private_jobs');
        return added - rows[0]!.n;
      }, 10, PG_WARM_UP);
      child.removeAllListeners('exit');
      await new Promise((resolve) => {
        child.once('exit', resolve);
        child.send('stop');
      });
      return perSecond;
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await counter.end();
      await utils.release();
    }
  });
}
