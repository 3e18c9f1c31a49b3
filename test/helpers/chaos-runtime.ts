import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Client } from '../../src/index.js';
import type { Stats, TaskView } from '../../src/index.js';
import { CLI } from './cli.js';
import { appendGone, appendKill } from './exec-log.js';
import { isGone } from './processes.js';

export interface ChaosRuntimeOptions {
  data: string;
  tasks: string;
  mode: 'threads' | 'processes';
  workers: number;
  runsPerWorker: number;
  /** The execution log, where kills are marked. */
  log: string;
  /** Its working directory (default: the test's); where a heap snapshot would be written. */
  cwd?: string;
  /** More `spindle start` options, e.g. `--store postgres://… --lease 3s`. */
  args?: readonly string[];
}

const TAIL_CHARS = 20_000;
const GONE_WITHIN_MS = 20_000;
/** README: a worker whose runtime died kills its own process group at once. Generous for a loaded machine. */
export const ORPHAN_BOUND_MS = 5_000;

/** What became of the processes a killed runtime left: how long they took to go, and any still alive at the bound. */
export interface Aftermath {
  goneMs: number;
  orphans: number[];
}

/**
 * A real `spindle start` (the built CLI) that can be killed with SIGKILL and started again on the
 * same data dir. Every process a start makes carries a marker of that start in its environment,
 * so what a killed runtime left behind, workers and grandchildren included, is found in /proc
 * while the next runtime already runs.
 */
export class ChaosRuntime {
  readonly marker = `spindle-chaos-${randomBytes(6).toString('hex')}`;
  #generation = 0;
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

  /** Its data dir: its socket (and, on LevelDB, its store). */
  get data(): string {
    return this.#o.data;
  }

  /** The last of what the current start printed, stdout and stderr. */
  get tail(): string {
    return this.#tail;
  }

  /** Starts it and resolves once it serves its socket; `env` is added to its environment. */
  start(env: Record<string, string> = {}): Promise<void> {
    return this.#spawn(env);
  }

  /**
   * Starts it and kills it `afterMs` later, serving or not: a kill during start-up, while it
   * recovers the runs the last kill interrupted. Answers whether it was serving by then.
   */
  async startAndKill(afterMs: number): Promise<{ serving: boolean; aftermath: Promise<Aftermath> }> {
    let serving = false;
    let failed: unknown = null;
    void this.#spawn({}).then(() => { serving = true; }, (err: unknown) => { failed = err; });
    await new Promise((r) => setTimeout(r, afterMs));
    // It exited on its own before the kill: a start-up failure (say, a store it cannot open).
    if (failed !== null) throw failed;
    const { aftermath } = await this.kill();
    return { serving, aftermath };
  }

  #spawn(env: Record<string, string>): Promise<void> {
    const o = this.#o;
    const child = spawn(process.execPath, [CLI, 'start', '--data', o.data, '--tasks', o.tasks, '--mode', o.mode,
      '--workers', String(o.workers), '--runs-per-worker', String(o.runsPerWorker), '--log-level', 'info', ...(o.args ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(o.cwd === undefined ? {} : { cwd: o.cwd }),
      env: { ...process.env, NO_COLOR: '1', SPINDLE_CHAOS_MARKER: `${this.marker}-${++this.#generation}`, ...env },
    });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    this.#tail = '';
    return new Promise<void>((resolve, reject) => {
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
   * kill -9. Resolves once the runtime has exited, after marking the kill in the log; what it
   * started may still be going, as after a real crash, so the next start need not wait for it.
   * `aftermath` resolves once all of that is gone, or at ORPHAN_BOUND_MS with what is left
   * (then SIGKILLed, so a failing test leaves nothing behind).
   */
  async kill(): Promise<{ aftermath: Promise<Aftermath> }> {
    const child = this.#child!;
    const generation = this.#generation;
    const pids = [child.pid!, ...this.markedPids(generation).filter((pid) => pid !== child.pid)];
    const at = Date.now();
    child.kill('SIGKILL');
    await this.#exited;
    appendKill(this.#o.log, pids);
    this.#child = null;
    // A process on its way out has no environment to read (no marker) before it is gone: the pids
    // known at the kill are waited for by pid as well.
    const leftOf = (): number[] => [...new Set([...this.markedPids(generation), ...pids.filter((pid) => !isGone(pid))])];
    const aftermath = (async (): Promise<Aftermath> => {
      for (;;) {
        const left = leftOf();
        if (left.length === 0) {
          appendGone(this.#o.log, pids);
          return { goneMs: Date.now() - at, orphans: [] };
        }
        if (Date.now() - at > ORPHAN_BOUND_MS) {
          killAll(left);
          while (leftOf().length > 0) await new Promise((r) => setTimeout(r, 10));
          // Until now they may have been running their handlers: the log must say so.
          appendGone(this.#o.log, pids);
          return { goneMs: Date.now() - at, orphans: left };
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    return { aftermath };
  }

  /** SIGTERM: a graceful stop, which must exit 0 and leave no process behind. */
  async stop(): Promise<void> {
    const child = this.#child!;
    child.kill('SIGTERM');
    const { code, signal } = await this.#exited!;
    this.#child = null;
    if (code !== 0) throw new Error(`spindle start exited ${code ?? signal} on SIGTERM:\n${this.#tail}`);
    await this.#allGone(this.#generation);
  }

  /** Live processes of one start (default: every start): the runtime, its workers, theirs. */
  markedPids(generation?: number): number[] {
    const needle = generation === undefined ? `SPINDLE_CHAOS_MARKER=${this.marker}-` : `SPINDLE_CHAOS_MARKER=${this.marker}-${generation}\0`;
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

  async #allGone(generation: number): Promise<void> {
    const deadline = Date.now() + GONE_WITHIN_MS;
    for (;;) {
      const left = this.markedPids(generation);
      if (left.length === 0) return;
      if (Date.now() > deadline) throw new Error(`${left.length} processes of the stopped runtime still alive ${GONE_WITHIN_MS} ms after it exited: ${left.join(' ')}`);
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
    killAll(this.markedPids());
  }
}

function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
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

/** How long statsUntil polls by default: under the chaos tests' 600 s, so that its message, not a bare timeout, says what was left. */
const STATS_WAIT_MS = 400_000;

/** Polls `stats` until `done` holds; fails after `withinMs` with the last counts. */
export async function statsUntil(client: Client, done: (stats: Stats) => boolean, withinMs = STATS_WAIT_MS): Promise<Stats> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const stats = await client.stats();
    if (done(stats)) return stats;
    if (Date.now() > deadline) throw new Error(`stats did not reach the awaited counts within ${withinMs} ms; the last: ${JSON.stringify(stats.states)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
