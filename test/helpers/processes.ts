import { readdirSync, readFileSync } from 'node:fs';

/** The state letter and parent pid of a process, from Linux /proc; undefined once it is reaped. */
function statOf(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: state!, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** Dead: no such process (`kill(pid, 0)` fails), or a zombie waiting for init to reap it. */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  return statOf(pid)?.state === 'Z';
}

/** Pids of the live processes whose parent is `ppid`. */
export function childrenOf(ppid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      const stat = statOf(pid);
      return stat !== undefined && stat.ppid === ppid && stat.state !== 'Z';
    });
}

/** Children of `ppid` that are Spindle worker processes (not, say, tsx's esbuild service). */
export function workersOf(ppid: number): number[] {
  return childrenOf(ppid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('process-worker');
    } catch {
      return false;
    }
  });
}
