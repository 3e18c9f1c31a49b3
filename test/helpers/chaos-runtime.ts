import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Client } from '../../src/index.js';
import type { Stats, TaskView } from '../../src/index.js';
import { CLI } from './cli.js';
import { appendKill } from './exec-log.js';

export interface ChaosRuntimeOptions {
  data: string;
  tasks: string;
  mode: 'threads' | 'processes';
  workers: number;
  runsPerWorker: number;
  /** The execution log, where kills are marked. */
  log: string;
}

const TAIL_CHARS = 20_000;
const GONE_WITHIN_MS = 20_000;

/**
 * A real `spindle start` (the built CLI) that can be killed with SIGKILL and started again on the
 * same data dir. Every process it starts carries a marker in its environment, so the processes
 * left after a kill, workers and grandchildren included, can be found in /proc.
 */
export class ChaosRuntime {
  readonly marker = `spindle-chaos-${randomBytes(6).toString('hex')}`;
  readonly #o: ChaosRuntimeOptions;
  #child: ChildProcess | null = null;
  #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | null = null;
  #tail = '';

  constructor(options: ChaosRuntimeOptions) {
    this.#o = options;
  }

  get pid(): number {
    return this.#child?.pid ?? 0;
  }

  /** Starts it and resolves once it serves its socket; `env` is added to its environment. */
  async start(env: Record<string, string> = {}): Promise<void> {
    const o = this.#o;
    const child = spawn(process.execPath, [CLI, 'start', '--data', o.data, '--tasks', o.tasks, '--mode', o.mode,
      '--workers', String(o.workers), '--runs-per-worker', String(o.runsPerWorker), '--log-level', 'info'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', SPINDLE_CHAOS_MARKER: this.marker, ...env },
    });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    this.#tail = '';
    await new Promise<void>((resolve, reject) => {
      let started = false;
      const onData = (c: Buffer): void => {
        this.#tail = (this.#tail + c.toString()).slice(-TAIL_CHARS);
        if (!started && this.#tail.includes('spindle runtime started')) {
          started = true;
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      void this.#exited!.then(({ code, signal }) => { if (!started) reject(new Error(`spindle start exited (${code ?? signal}) before serving:\n${this.#tail}`)); });
    });
  }

  /**
   * kill -9; resolves once it and everything it started are gone (failing if anything outlives it
   * by 20 s), marks the kill in the log, and answers how long the last process took to go.
   */
  async kill(): Promise<number> {
    const child = this.#child!;
    const at = Date.now();
    child.kill('SIGKILL');
    await this.#exited;
    await this.#allGone();
    const goneMs = Date.now() - at;
    appendKill(this.#o.log, child.pid!);
    this.#child = null;
    return goneMs;
  }

  /** SIGTERM: a graceful stop, which must exit 0 and leave no process behind. */
  async stop(): Promise<void> {
    const child = this.#child!;
    child.kill('SIGTERM');
    const { code, signal } = await this.#exited!;
    this.#child = null;
    if (code !== 0) throw new Error(`spindle start exited ${code ?? signal} on SIGTERM:\n${this.#tail}`);
    await this.#allGone();
  }

  get running(): boolean {
    return this.#child !== null;
  }

  /** Pids of live processes carrying this runtime's marker (the runtime, its workers, theirs). */
  markedPids(): number[] {
    const needle = `SPINDLE_CHAOS_MARKER=${this.marker}\0`;
    const found: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (!readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle)) continue;
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
        found.push(Number(entry));
      } catch {
        // Gone between the listing and the read.
      }
    }
    return found;
  }

  async #allGone(): Promise<void> {
    const deadline = Date.now() + GONE_WITHIN_MS;
    for (;;) {
      const left = this.markedPids();
      if (left.length === 0) return;
      if (Date.now() > deadline) throw new Error(`orphans: ${left.length} processes of the killed runtime still alive after ${GONE_WITHIN_MS} ms: ${left.join(' ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Test cleanup: SIGKILLs the runtime and whatever of its processes remain, by pid. */
  async close(): Promise<void> {
    if (this.#child !== null) {
      this.#child.kill('SIGKILL');
      await this.#exited;
      this.#child = null;
    }
    for (const pid of this.markedPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }

  /** Its output so far (the last 20,000 characters), for a failure message. */
  tail(): string {
    return this.#tail;
  }
}

/** Every task in the store, page by page. */
export async function readStore(client: Client): Promise<TaskView[]> {
  const all: TaskView[] = [];
  let cursor: string | null = null;
  do {
    const page: { tasks: TaskView[]; cursor: string | null } = await client.list({ limit: 1000, ...(cursor === null ? {} : { cursor }) });
    all.push(...page.tasks);
    cursor = page.cursor;
  } while (cursor !== null);
  return all;
}

const OPEN_STATES = ['spooled', 'queued', 'running'];

/** Open (non-terminal) tasks, from `stats`. */
export function openCount(stats: Stats): number {
  return OPEN_STATES.reduce((n, s) => n + (stats.states[s] ?? 0), 0);
}

/** Polls `stats` until `done` holds; the test's timeout bounds it. */
export async function statsUntil(client: Client, done: (stats: Stats) => boolean): Promise<Stats> {
  for (;;) {
    const stats = await client.stats();
    if (done(stats)) return stats;
    await new Promise((r) => setTimeout(r, 100));
  }
}
