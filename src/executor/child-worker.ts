import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { SECOND } from '../duration.js';
import { describeDeath } from './child-death.js';
import type { ChildDeath } from './child-death.js';
import { forwardOutput } from './worker-output.js';
import type { LineTags } from './worker-output.js';
import { isProcessReply, processWorkerName, RESIDENT_LIMIT_MARK, residentLimitMb } from './wire.js';
import type { CrashMessage, ProcessRequest, ProcessResultsMessage, ProgressMessage } from './wire.js';
import type { WorkerEntry } from './worker-entry.js';

export interface ChildWorkerOptions {
  entry: WorkerEntry;
  workerMemoryMb: number;
  logLevel: string;
  /** The runtime's heartbeat, for the child's watchdog (see workers/watchdog.ts); only with leases. */
  heartbeat?: { path: string; staleMs: number } | undefined;
  /** Milliseconds between SIGTERM and SIGKILL to the child's process group. */
  termGraceMs: number;
  logger: Logger;
  /** Tags for the child's output lines: the run it holds, when that is known. */
  tags(): LineTags;
  onMessage(message: ProcessResultsMessage | ProgressMessage): void;
  /** The child has exited, its process group is killed and its output read. Called once. */
  onExit(death: ChildDeath): void;
}

/** V8's words when a heap limit is reached ("Reached heap limit" / "Ineffective mark-compacts"). */
const OOM_MARK = 'JavaScript heap out of memory';
/**
 * After the child exits, how long to wait for the end of its output, which may hold V8's
 * out-of-memory report. A grandchild that left the process group can hold the pipes open forever.
 */
const OUTPUT_DRAIN_MS = 1 * SECOND;
/** Stderr lines kept to explain a child that dies before it is ready. */
const STDERR_KEPT = 20;

/**
 * One long-lived child process of the ProcessExecutor: forked with an IPC channel, a heap limit
 * and its own process group (`detached`), so that a kill reaches whatever its handlers spawned.
 * It knows nothing of runs: it carries messages, kills, and reports how the child died.
 */
export class ChildWorker {
  readonly name: string;
  /** Resolves when the entry point has loaded; rejects if the child dies first. */
  readonly ready: Promise<void>;
  readonly #o: ChildWorkerOptions;
  readonly #proc: ChildProcess;
  readonly #pid: number | undefined;
  readonly #stderrTail: string[] = [];
  #isReady = false;
  #killedFor: string | null = null;
  #termTimer: NodeJS.Timeout | null = null;
  #drainTimer: NodeJS.Timeout | null = null;
  #crash: CrashMessage['error'] | null = null;
  #outOfMemory = false;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  #gone = false;
  #rejectReady: (err: Error) => void = () => undefined;

  constructor(options: ChildWorkerOptions) {
    this.#o = options;
    const { entry, workerMemoryMb, logLevel, heartbeat } = options;
    const beat = heartbeat === undefined ? [] : [heartbeat.path, String(heartbeat.staleMs)];
    this.#proc = fork(entry.filename, [logLevel, String(process.pid), String(residentLimitMb(workerMemoryMb)), ...beat], {
      // Only what the entry needs: a parent's --inspect or its own heap flag must not reach children.
      execArgv: [...(entry.execArgv ?? []), `--max-old-space-size=${workerMemoryMb}`],
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.#pid = this.#proc.pid;
    this.name = processWorkerName(this.#pid ?? 0);
    this.ready = new Promise<void>((resolve, reject) => {
      this.#rejectReady = reject;
      this.#proc.on('message', (message: unknown) => {
        if (!isProcessReply(message)) return;
        if (message.type === 'ready') {
          this.#isReady = true;
          resolve();
        } else if (message.type === 'crash') {
          this.#crash = message.error;
        } else {
          options.onMessage(message);
        }
      });
    });
    const tags = (): LineTags => ({ worker: this.name, ...options.tags() });
    if (this.#proc.stdout !== null) forwardOutput(this.#proc.stdout, 'stdout', options.logger, tags);
    if (this.#proc.stderr !== null) forwardOutput(this.#proc.stderr, 'stderr', options.logger, tags, (line) => this.#onStderr(line));
    this.#proc.once('exit', (code, signal) => this.#onExit(code, signal));
    this.#proc.once('close', () => this.#finish());
    this.#proc.on('error', (err) => this.#onError(err));
  }

  /** The entry point has loaded (and the child may have died since). */
  get loaded(): boolean {
    return this.#isReady;
  }

  /** The entry point has loaded and the child has neither exited nor been told to die. */
  get available(): boolean {
    return this.#isReady && !this.dying && this.#proc.connected;
  }

  /** Killed, or exited on its own: it takes no more runs. */
  get dying(): boolean {
    return this.#killedFor !== null || this.#exit !== null || this.#gone;
  }

  /** False when the channel is closed: the child is dying and onExit will follow. */
  send(message: ProcessRequest): boolean {
    if (!this.#proc.connected) return false;
    this.#proc.send(message);
    return true;
  }

  /** SIGTERM to the child's process group, SIGKILL after the term grace. Idempotent. */
  kill(why: string): void {
    if (this.dying) return;
    this.#killedFor = why;
    this.#signalGroup('SIGTERM');
    this.#termTimer = setTimeout(() => this.#signalGroup('SIGKILL'), this.#o.termGraceMs);
  }

  #onStderr(line: string): void {
    if (line.includes(OOM_MARK) || line.startsWith(RESIDENT_LIMIT_MARK)) this.#outOfMemory = true;
    if (!this.#isReady) {
      this.#stderrTail.push(line);
      if (this.#stderrTail.length > STDERR_KEPT) this.#stderrTail.shift();
    }
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.#exit = { code, signal };
    if (this.#termTimer !== null) clearTimeout(this.#termTimer);
    this.#termTimer = null;
    // The leader is gone; what it spawned may not be. Nothing of the group outlives it.
    this.#signalGroup('SIGKILL');
    this.#drainTimer = setTimeout(() => this.#finish(), OUTPUT_DRAIN_MS);
  }

  #onError(err: Error): void {
    if (this.#pid === undefined) {
      // Never spawned: no 'exit' will come.
      this.#crash = { name: err.name, message: `the worker process could not be started: ${err.message}` };
      this.#finish();
      return;
    }
    this.#o.logger.warn({ worker: this.name, err }, `worker process ${this.name}: ${err.message}`);
  }

  #finish(): void {
    if (this.#gone || (this.#exit === null && this.#pid !== undefined)) return;
    this.#gone = true;
    if (this.#drainTimer !== null) clearTimeout(this.#drainTimer);
    this.#proc.stdout?.destroy();
    this.#proc.stderr?.destroy();
    const death: ChildDeath = {
      exitCode: this.#exit?.code ?? null,
      signal: this.#exit?.signal ?? null,
      crash: this.#crash,
      outOfMemory: this.#outOfMemory,
      killedFor: this.#killedFor,
    };
    if (!this.#isReady) this.#rejectReady(new Error(`worker process ${this.name} ended before it was ready (${describeDeath(death)})${this.#stderrTail.length > 0 ? `:\n${this.#stderrTail.join('\n')}` : ''}`));
    this.#o.onExit(death);
  }

  #signalGroup(signal: NodeJS.Signals): void {
    // A pid of 0 would signal the caller's own group: only ever a real, positive pid.
    if (this.#pid === undefined || !Number.isSafeInteger(this.#pid) || this.#pid <= 0) return;
    try {
      process.kill(-this.#pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') this.#o.logger.warn({ worker: this.name, err }, `cannot send ${signal} to ${this.name}'s process group`);
    }
  }
}
