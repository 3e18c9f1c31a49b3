/**
 * The throughput case end to end: `spindle start` as its own process, N no-op tasks
 * submitted through the socket with `task.submitMany` in batches of 1,000, tasks per second from
 * the first submit to the last `finished` (seen by polling `runtime.stats`, which costs the
 * runtime far less than streaming 4 events per task; with retention 0, the last `swept`), after
 * WARM_UP tasks untimed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, type Stats } from '../src/index.js';
import { timedAfterWarmUp } from './spindle-throughput.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const TASKS = fileURLToPath(new URL('../../bench/tasks', import.meta.url));
const POLL_MS = 5;

export interface SocketCase {
  mode: 'threads' | 'processes';
  workers: number;
  runsPerWorker: number;
  sync: boolean;
  /** `--store` (default: LevelDB in the data directory). */
  store?: string;
  /** Untimed tasks first (default WARM_UP). */
  warmUp?: number;
  /**
   * `--retention` (default forever). 0 on PostgreSQL deletes each task in the write that ends it:
   * the tasks done are then counted by `swept`, not `finished`.
   */
  retention?: 'forever' | '0';
}

export async function socketThroughput(n: number, c: SocketCase): Promise<number> {
  return withSocketRuntime(c, async (client) => {
    const done = c.retention === '0' ? (s: Stats): number => s.swept : (s: Stats): number => s.states.finished ?? 0;
    return timedAfterWarmUp(n, (batch) => client.submitMany(batch), async () => done(await client.stats()), POLL_MS, c.warmUp);
  });
}

/** `spindle start` as its own process for the case, `fn` given a client of it; stopped after. */
export async function withSocketRuntime<T>(c: Omit<SocketCase, 'warmUp'>, fn: (client: Client) => Promise<T>): Promise<T> {
  const data = mkdtempSync(join(tmpdir(), 'spindle-bench-socket-'));
  const args = ['start', '--data', data, '--tasks', TASKS, '--mode', c.mode, '--workers', String(c.workers),
    '--runs-per-worker', String(c.runsPerWorker), '--retention', c.retention ?? 'forever', '--log-level', 'warn', ...(c.sync ? ['--sync'] : []), ...(c.store !== undefined ? ['--store', c.store] : [])];
  const runtime = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const client = await connectWhenUp(data);
    try {
      const out = await fn(client);
      await client.stop({ wait: true });
      return out;
    } finally {
      await client.close();
    }
  } finally {
    if (runtime.exitCode === null) runtime.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
  }
}

/** The runtime takes a moment to start; its socket answers once it is ready. */
export async function connectWhenUp(data: string): Promise<Client> {
  for (let i = 0; ; i++) {
    try {
      return await Client.connect({ data, reconnectWindowMs: 0 });
    } catch (err) {
      if (i > 300) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
