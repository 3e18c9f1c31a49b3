/**
 * The watchdog of a process worker: a tiny worker thread that ends the child's whole process
 * group once the runtime that forked it is gone.
 *
 * The child's own 'disconnect' event is not enough: it needs the child's event loop, which a
 * handler spinning in `for(;;){}` or blocked in `execSync('sleep 30')` never gives back, and such
 * a child would outlive a kill -9 of the runtime and run its task a second time alongside the
 * retry the restarted runtime starts. A thread has its own loop, so it notices whatever the main
 * thread is doing. Preferred over PR_SET_PDEATHSIG (needs a native addon; signals only the child,
 * not its group, and tracks the forking thread rather than the process) and over a restarted
 * runtime killing stored pids (acts only if the runtime restarts, and risks pid reuse).
 *
 * The runtime's pid is passed in rather than read here: had it died before this thread started,
 * `process.ppid` would already name the reaper. A handler's grandchild that leaves the group
 * (`detached: true`, `setsid`) is out of reach of the group kill.
 */
import { Worker } from 'node:worker_threads';

/** How often the watchdog compares the parent pid: the bound on how long an orphan keeps running. */
export const PARENT_POLL_MS = 200;

// Plain CommonJS, evaluated: the thread must not load tsx or anything else the child was started with.
const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const { parent, leader, pollMs } = workerData;
const check = () => {
  if (process.ppid === parent) return;
  try { process.kill(-leader, 'SIGKILL'); } catch {}
  try { process.kill(leader, 'SIGKILL'); } catch {}
};
check();
setInterval(check, pollMs);
`;

/**
 * Starts the watchdog for a child that leads its own process group and was forked by `parentPid`.
 * The thread never keeps the child alive; if it fails, the child carries on with 'disconnect' alone.
 */
export function watchParent(parentPid: number, onFailure: (err: Error) => void): void {
  const watchdog = new Worker(WATCHDOG_SOURCE, {
    eval: true,
    execArgv: [],
    workerData: { parent: parentPid, leader: process.pid, pollMs: PARENT_POLL_MS },
    resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    stdout: false,
    stderr: false,
  });
  watchdog.unref();
  watchdog.on('error', onFailure);
}
