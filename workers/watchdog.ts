/**
 * The watchdog of a process worker: a tiny worker thread that kills the child's whole process
 * group (the child leads it) when the runtime that forked it is gone, or when the child's resident
 * memory passes its cap.
 *
 * The child's own 'disconnect' event is not enough: it needs the child's event loop, which a
 * handler spinning in `for(;;){}` or blocked in `execSync('sleep 30')` never gives back, and such
 * a child would outlive a kill -9 of the runtime and run its task a second time alongside the
 * retry the restarted runtime starts. A thread has its own loop, so it notices whatever the main
 * thread is doing. Preferred over PR_SET_PDEATHSIG (needs a native addon; signals only the child,
 * not its group, and tracks the forking thread rather than the process) and over a restarted
 * runtime killing stored pids (acts only if the runtime restarts, and risks pid reuse).
 *
 * On a runtime with leases (PostgreSQL) it also reads the runtime's heartbeat file: a runtime
 * stopped (SIGSTOP) or stalled past half its lease is about to lose its runs to another runtime,
 * and its own fence cannot act, so the child kills its group (its handlers) before the lease ends.
 * The runtime, once it runs again, finds the child gone and its runs lost, as after any crash.
 *
 * The runtime's pid is passed in rather than read here: had it died before this thread started,
 * `process.ppid` would already name the reaper. A handler's grandchild that leaves the group
 * (`detached: true`, `setsid`) is out of reach of the group kill. Memory is sampled, so a burst of
 * allocation can pass the cap by what it allocates in one interval.
 */
import { Worker } from 'node:worker_threads';
import { RESIDENT_LIMIT_MARK } from '../src/executor/wire.js';
import { pauseGapMs } from '../src/runtime/heartbeat.js';

/** How often the watchdog looks: the bound on how long an orphan keeps running. */
const WATCHDOG_POLL_MS = 200;

export interface WatchdogOptions {
  /** The runtime's pid, as it forked this child. */
  parentPid: number;
  /** Resident memory of the whole child, in MB, past which it is killed. */
  residentLimitMb: number;
  /** The runtime's heartbeat file and how old a beat may be; only on a store with leases. */
  heartbeat?: { path: string; staleMs: number };
}

// Plain CommonJS, evaluated: the thread must not load tsx or anything else the child was started with.
// The memory line is written with a synchronous write to fd 2: the main thread may never run again.
const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const { openSync, readSync, writeSync } = require('node:fs');
const { parent, leader, residentLimitMb, pollMs, mark, heartbeat } = workerData;
const killGroup = () => {
  try { process.kill(-leader, 'SIGKILL'); } catch {}
  try { process.kill(leader, 'SIGKILL'); } catch {}
};
const now = () => Number(process.hrtime.bigint() / 1000000n);
const buf = Buffer.alloc(8);
let fd = null;
const beat = () => {
  try {
    fd ??= openSync(heartbeat.path, 'r');
    return readSync(fd, buf, 0, 8, 0) === 8 ? Number(buf.readBigInt64LE(0)) : null;
  } catch { return null; }
};
let prev = now();
let since = prev;
// Past the bound on two reads: a read that met the runtime's write half done is not believed.
const stale = (t) => { const b = beat(); return b !== null && t - Math.max(b, since) > heartbeat.staleMs; };
const check = () => {
  if (process.ppid !== parent) return killGroup();
  const residentMb = process.memoryUsage.rss() / (1024 * 1024);
  if (residentMb > residentLimitMb) {
    try { writeSync(2, mark + ': resident memory ' + Math.round(residentMb) + ' MB is over its limit of ' + residentLimitMb + ' MB\\n'); } catch {}
    return killGroup();
  }
  if (heartbeat === null) return;
  const t = now();
  // This thread did not run either: the whole machine or container was paused, not the runtime alone.
  if (t - prev > heartbeat.gapMs) since = t;
  prev = t;
  if (stale(t) && stale(t)) {
    try { writeSync(2, 'spindle: FENCED: the runtime (pid ' + parent + ') has not beaten for ' + (t - beat()) + ' ms, past half its lease (stopped or stalled); killing this worker process and its group so that no run it holds can overlap a takeover\\n'); } catch {}
    killGroup();
  }
};
check();
setInterval(check, pollMs);
`;

/**
 * Starts the watchdog for this child. The thread never keeps the child alive; if it fails, the
 * child carries on with 'disconnect' alone and no memory cap beyond its heap limit.
 */
export function startWatchdog(options: WatchdogOptions, onFailure: (err: Error) => void): void {
  const watchdog = new Worker(WATCHDOG_SOURCE, {
    eval: true,
    execArgv: [],
    workerData: { parent: options.parentPid, leader: process.pid, residentLimitMb: options.residentLimitMb, pollMs: WATCHDOG_POLL_MS, mark: RESIDENT_LIMIT_MARK,
      heartbeat: options.heartbeat === undefined ? null : { ...options.heartbeat, gapMs: pauseGapMs(options.heartbeat.staleMs) } },
    resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    stdout: false,
    stderr: false,
  });
  watchdog.unref();
  watchdog.on('error', onFailure);
}
