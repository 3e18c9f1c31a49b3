import { readFileSync } from 'node:fs';
import { afterEach } from 'vitest';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '../../src/index.js';
import type { Stats, SubmitOptions, TaskView } from '../../src/index.js';
import { ChaosRuntime } from './chaos-runtime.js';
import type { Checker } from './checker.js';
import { type Execution, parseExecLog } from './exec-log.js';
import { createTestDatabase, type TestDatabase } from './pg.js';
import { removeTempDirs, tempDir } from './temp.js';

/** chaos-work with wall times in its log lines (see the module). */
export const PG_CHAOS_TASKS = fileURLToPath(new URL('../fixtures/pg-chaos-tasks', import.meta.url));

export interface ClusterOptions {
  /** One entry per runtime: its executor mode. */
  modes: ReadonlyArray<'threads' | 'processes'>;
  leaseMs: number;
  workers: number;
  runsPerWorker: number;
}

/**
 * Real `spindle start --store postgres://… --lease D` processes (the built CLI), each with a data
 * dir of its own (its socket) and all on one fresh database, writing one execution log.
 */
export class PgCluster {
  readonly runtimes: ChaosRuntime[];
  readonly log: string;
  readonly leaseMs: number;
  readonly #db: TestDatabase;
  readonly #clients: Client[] = [];

  private constructor(db: TestDatabase, runtimes: ChaosRuntime[], log: string, leaseMs: number) {
    this.#db = db;
    this.runtimes = runtimes;
    this.log = log;
    this.leaseMs = leaseMs;
  }

  /** Creates the database and the runtimes; starts none. */
  static async create(o: ClusterOptions): Promise<PgCluster> {
    const db = await createTestDatabase();
    const log = join(tempDir('spindle-pg-chaos-log-'), 'exec.log');
    const runtimes = o.modes.map((mode) => new ChaosRuntime({
      data: tempDir('spindle-pg-chaos-'), tasks: PG_CHAOS_TASKS, mode, workers: o.workers, runsPerWorker: o.runsPerWorker, log,
      args: ['--store', db.url, '--lease', `${o.leaseMs}ms`],
    }));
    return new PgCluster(db, runtimes, log, o.leaseMs);
  }

  /** Starts every runtime at once (they race for the schema migration, as in production); `env` per index. */
  async start(env: (index: number) => Record<string, string> = () => ({})): Promise<void> {
    await Promise.all(this.runtimes.map((rt, i) => rt.start(env(i))));
  }

  /** A client of runtime `i` (closed with the cluster). */
  async client(i: number): Promise<Client> {
    const c = await Client.connect({ data: this.runtimes[i]!.data, reconnectWindowMs: 60_000 });
    this.#clients.push(c);
    return c;
  }

  /** What each runtime printed last, to read after a failure. */
  printTails(chars = 3000): void {
    this.runtimes.forEach((rt, i) => console.log(`[chaos] runtime ${i} (pid ${rt.pid || 'exited'}) printed last:\n${rt.tail.slice(-chars)}`));
  }

  async close(): Promise<void> {
    await Promise.all(this.#clients.splice(0).map((c) => c.close().catch(() => undefined)));
    for (const rt of this.runtimes) await rt.close();
    await this.#db.drop();
  }
}

/** `chaos-work` submits named `prefix0…prefix{count-1}`, with these params besides cid and log. */
export function chaosTasks(prefix: string, count: number, log: string, params: Record<string, unknown> = {}, extra: Partial<SubmitOptions> = {}): SubmitOptions[] {
  return Array.from({ length: count }, (_, i) => ({ type: 'chaos-work', params: { cid: `${prefix}${i}`, log, ...params }, ...extra }));
}

/** Submits in batches of `batch` through `client`, telling the checker what each was answered. */
export async function submitAll(client: Client, checker: Checker, tasks: readonly SubmitOptions[], batch = 1000): Promise<void> {
  for (let from = 0; from < tasks.length; from += batch) {
    const part = tasks.slice(from, from + batch);
    const b = checker.begin(part.map((t) => (t.params as { cid: string }).cid));
    try {
      checker.ok(b, (await client.submitMany(part)).map((t) => t.id));
    } catch (err) {
      checker.failed(b, err);
      throw err;
    }
  }
}

/** The client id a chaos-work task carries in its params. */
export function cidOf(t: TaskView): string {
  return String((t.params as { cid?: unknown }).cid);
}

/**
 * Polls `stats` (the database's counts, whichever runtime answers) until `done` holds; throws with
 * the last counts after `withinMs`, so a lost task fails the test with what was left instead of
 * running into the suite's timeout.
 */
export async function statsWithin(client: Client, done: (stats: Stats) => boolean, withinMs: number): Promise<Stats> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const stats = await client.stats();
    if (done(stats)) return stats;
    if (Date.now() > deadline) throw new Error(`not reached within ${withinMs} ms; states: ${JSON.stringify(stats.states)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Executions in the log by these processes that have not ended (nor been aborted) yet. */
export function openExecutionsOf(log: string, pids: readonly number[]): Execution[] {
  let text: string;
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    return [];
  }
  return [...parseExecLog(text).byCid.values()].flatMap((runs) => runs.filter((ex) => ex.endAt === null && pids.includes(ex.pid)));
}

/**
 * The hooks every cluster test needs: after it, the runtimes' output tails printed if it failed,
 * the cluster closed (runtimes stopped, database dropped) and the temp dirs removed.
 */
export function clusterBed(): { start(options: ClusterOptions): Promise<PgCluster> } {
  let cluster: PgCluster | undefined;
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') cluster?.printTails();
    await cluster?.close();
    cluster = undefined;
    removeTempDirs();
  });
  return { start: async (options) => (cluster = await PgCluster.create(options)) };
}
