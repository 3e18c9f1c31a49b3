import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { beatIntervalMs, heartbeatPath, monotonicMs, pauseGapMs, staleMs } from './heartbeat.js';

export interface StallFenceOptions {
  /** The data directory: the heartbeat file goes there. */
  data: string;
  /** The store's lease. */
  leaseMs: number;
  log: Logger;
}

/** How often the fence thread looks at the heartbeat. */
const FENCE_POLL_MS = 100;

// Plain CommonJS, evaluated: the thread must not load tsx or anything else the runtime was started
// with. The line goes out in one synchronous write to fd 2: the main thread will never run again.
const FENCE_SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { beat, staleMs, gapMs, pollMs } = workerData;
const beats = new BigInt64Array(beat);
const now = () => Number(process.hrtime.bigint() / 1000000n);
let prev = now();
let since = prev;
setInterval(() => {
  const t = now();
  if (t - prev > gapMs) since = t;
  prev = t;
  const last = Number(Atomics.load(beats, 0));
  if (t - Math.max(last, since) <= staleMs) return;
  try { writeSync(2, "spindle: FENCED: the runtime's main thread stalled " + (t - last) + " ms, past half its lease; exiting so that no run it holds can overlap a takeover\\n"); } catch {}
  process.kill(process.pid, 'SIGKILL');
}, pollMs);
`;

/**
 * The fence against a runtime whose main thread stops turning while its handlers go on: a stall
 * of the event loop longer than the lease, or (for process workers) a SIGSTOP of the runtime. The
 * lease fence in Leases runs on the main thread, so it cannot act then, and another runtime takes
 * the runs over while they still run here.
 *
 * The main thread beats every eighth of a lease, into a SharedArrayBuffer and into
 * `<data>/heartbeat`. A small worker thread reads the buffer every 100 ms; when the main thread
 * has not beaten for half a lease it kills the whole process with SIGKILL, so its runs become
 * lost tries taken over elsewhere, as after a kill -9 (and its process workers follow through
 * their watchdogs). Killing, not aborting: aborting needs the main thread. The process workers'
 * watchdogs read the file, which covers a stopped runtime (its fence thread is stopped too) and
 * kill their own process groups. Only for a store with leases: without one nothing takes runs over.
 */
export class StallFence {
  readonly #beat = new BigInt64Array(new SharedArrayBuffer(8));
  readonly #buf = Buffer.alloc(8);
  readonly #path: string;
  readonly #fd: number;
  readonly #timer: NodeJS.Timeout;
  readonly #thread: Worker;
  #closed: Promise<void> | null = null;

  constructor(o: StallFenceOptions) {
    this.#path = heartbeatPath(o.data);
    this.#fd = openSync(this.#path, 'w', 0o600);
    // Beaten before anything reads it: the thread and the children see a fresh beat from the start.
    this.#beatNow();
    this.#timer = setInterval(() => this.#beatNow(), beatIntervalMs(o.leaseMs));
    this.#timer.unref();
    const stale = staleMs(o.leaseMs);
    this.#thread = new Worker(FENCE_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: { beat: this.#beat.buffer, staleMs: stale, gapMs: pauseGapMs(stale), pollMs: FENCE_POLL_MS },
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
      stdout: false,
      stderr: false,
    });
    this.#thread.unref();
    this.#thread.on('error', (err) => o.log.error({ err }, `the stall fence thread failed: ${err.message}; a stalled runtime is fenced only by its process workers' watchdogs`));
  }

  #beatNow(): void {
    const now = monotonicMs();
    Atomics.store(this.#beat, 0, now);
    this.#buf.writeBigInt64LE(now, 0);
    // A failed write leaves the children an older beat: at worst they fence early, never late.
    try {
      writeSync(this.#fd, this.#buf, 0, 8, 0);
    } catch {
      // Nothing to do: see above.
    }
  }

  /** Stops the thread, then the beats; after the executors have closed (their children read the file). */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#thread.terminate();
      clearInterval(this.#timer);
      closeSync(this.#fd);
      rmSync(this.#path, { force: true });
    })();
    return this.#closed;
  }
}
