/**
 * One runtime's no-op throughput on PostgreSQL, next to graphile-worker on the same server and to
 * Spindle on LevelDB, in one run: each on a fresh database of its own, dropped after.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { makeWorkerUtils, Logger, type WorkerUtils } from 'graphile-worker';
import { admin, onFreshDatabase } from './pg-server.js';
import { socketThroughput, withSocketRuntime } from './socket-throughput.js';
import { timedAfterWarmUp, WORKERS } from './spindle-throughput.js';

/** Runs per worker thread: the same concurrency (WORKERS × this) is graphile-worker's concurrentJobs. */
export const PG_RUNS_PER_WORKER = 256;
export const PG_CONCURRENCY = WORKERS * PG_RUNS_PER_WORKER;
/**
 * Untimed tasks first, in every case (see WARM_UP in spindle-throughput.ts). More than there: after
 * 3,000 V8's compiler threads still took 13% of the runtime's CPU in the timed part (perf, 2-5 s
 * into the run), 5% a few seconds later; a long-lived process has that behind it.
 */
export const PG_WARM_UP = 30_000;
/** Tasks per submit when a drain's backlog is stored. */
const BATCH = 1000;
/** How often a drain asks whether it is done. */
const DRAIN_POLL_MS = 20;

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
  return onFreshDatabase('graphile_bench', (url) => withGraphile(url, async ({ utils, start, left }) => {
    await start();
    let added = 0;
    // How many are done, as timedAfterWarmUp asks: all once none is left, fewer until then.
    const done = async (): Promise<number> => ((await left()) ? added - 1 : added);
    return timedAfterWarmUp(n, async (batch) => {
      await utils.addJobs(batch.map(() => ({ identifier: 'noop', payload: {} })));
      added += batch.length;
    }, done, 10, PG_WARM_UP);
  }));
}

interface GraphileBed {
  utils: WorkerUtils;
  /** Starts the worker process (graphile-child.ts); resolves once it says it is ready. */
  start(): Promise<void>;
  /**
   * Whether a job is still in the table: one probe of its primary key from the newest end, where
   * the jobs still waiting are. A count would read the whole table, which with a deep backlog
   * costs the server more than the work measured.
   */
  left(): Promise<boolean>;
}

/** A migrated graphile-worker schema on `url` for `fn`; its worker process stopped after. */
async function withGraphile<T>(url: string, fn: (bed: GraphileBed) => Promise<T>): Promise<T> {
  const silent = new Logger(() => () => undefined);
  const utils = await makeWorkerUtils({ connectionString: url, logger: silent });
  await utils.migrate();
  const counter = new pg.Client({ connectionString: url });
  await counter.connect();
  let child: ChildProcess | undefined;
  try {
    const out = await fn({
      utils,
      start: () => new Promise<void>((resolve, reject) => {
        child = fork(fileURLToPath(new URL('./graphile-child.js', import.meta.url)), [url, String(PG_CONCURRENCY)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
        child.once('message', () => resolve());
        child.once('exit', (code) => reject(new Error(`graphile-worker exited early (code ${code})`)));
      }),
      left: async () => (await counter.query('SELECT 1 FROM graphile_worker._private_jobs ORDER BY id DESC LIMIT 1')).rows.length > 0,
    });
    if (child !== undefined) {
      const running = child;
      running.removeAllListeners('exit');
      await new Promise((resolve) => {
        running.once('exit', resolve);
        running.send('stop');
      });
    }
    return out;
  } finally {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
    await counter.end();
    await utils.release();
  }
}

/**
 * Draining a backlog: n no-op tasks stored first, none run, then one runtime (or graphile-worker)
 * runs them all; tasks per second from the drain's start to the last durable completion, polled
 * every DRAIN_POLL_MS. No warm-up: n is large enough for the first thousands not to matter. The
 * database is analyzed once the tasks are in, as autovacuum would do on a server where it is on
 * (the test machines' has it off): without statistics graphile-worker's job fetch reads more of
 * the table the longer the queue (300,000 jobs drained at about 9,000/s, against 34,000 analyzed);
 * Spindle's claim has its plan fixed (claims.ts) and does not depend on them.
 * Spindle: submitted through the socket with the type paused, the clock started at resume-type.
 */
export function spindlePgDrain(n: number): Promise<number> {
  return onFreshDatabase('spindle_bench', (url) => withSocketRuntime({
    mode: 'threads', workers: WORKERS, runsPerWorker: PG_RUNS_PER_WORKER, sync: false, store: url, retention: '0',
  }, async (client) => {
    await client.pauseType('noop');
    for (let i = 0; i < n; i += BATCH) await client.submitMany(Array.from({ length: Math.min(BATCH, n - i) }, () => ({ type: 'noop' })));
    await admin('ANALYZE', url);
    const t0 = performance.now();
    await client.resumeType('noop');
    while ((await client.stats()).swept < n) await sleep(DRAIN_POLL_MS);
    return n / ((performance.now() - t0) / 1000);
  }));
}

/** graphile-worker: the jobs added before its worker process starts, the clock started when it says it is ready. */
export function graphileDrain(n: number): Promise<number> {
  return onFreshDatabase('graphile_bench', (url) => withGraphile(url, async ({ utils, start, left }) => {
    for (let i = 0; i < n; i += BATCH) await utils.addJobs(Array.from({ length: Math.min(BATCH, n - i) }, () => ({ identifier: 'noop', payload: {} })));
    await admin('ANALYZE', url);
    await start();
    const t0 = performance.now();
    while (await left()) await sleep(DRAIN_POLL_MS);
    return n / ((performance.now() - t0) / 1000);
  }));
}
