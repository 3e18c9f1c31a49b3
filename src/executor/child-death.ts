import type { RunError } from './executor.js';
import { residentLimitMb } from './wire.js';
import type { CrashMessage } from './wire.js';

/** How a child ended, as far as the parent could tell. */
export interface ChildDeath {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The uncaught error the child reported just before it exited. */
  readonly crash: CrashMessage['error'] | null;
  /** V8 reported heap exhaustion, or the child's watchdog its resident memory over the cap, on stderr. */
  readonly outOfMemory: boolean;
  /** Why the executor killed it, when it did. */
  readonly killedFor: string | null;
}

/** "exit code 7", "signal SIGKILL", "heap exhausted, signal SIGABRT": how it ended, for messages. */
export function describeDeath(death: ChildDeath): string {
  if (death.outOfMemory) return `heap exhausted${death.signal !== null ? `, signal ${death.signal}` : ''}`;
  if (death.signal !== null) return `signal ${death.signal}`;
  if (death.exitCode !== null) return `exit code ${death.exitCode}`;
  return death.crash?.message ?? 'unknown cause';
}

/** What a run lost with its child records: the cause first, and the exit code or signal always. */
export function lostRunError(death: ChildDeath, workerMemoryMb: number): RunError {
  const recorded = {
    ...(death.exitCode !== null ? { exitCode: death.exitCode } : {}),
    ...(death.signal !== null ? { signal: death.signal } : {}),
  };
  if (death.outOfMemory) {
    return { code: 'WORKER_OOM', message: `the handler's process reached its memory limit (heap ${workerMemoryMb} MB, resident ${residentLimitMb(workerMemoryMb)} MB; set by workerMemoryMb) and was stopped`, ...recorded };
  }
  if (death.killedFor !== null) {
    return { code: 'WORKER_CRASHED', message: `its process was killed (${describeDeath(death)}) because ${death.killedFor}`, ...recorded };
  }
  if (death.crash !== null) {
    const { name, message, stack } = death.crash;
    return { code: 'WORKER_CRASHED', message: `the handler's process crashed with an uncaught error: ${message}`, name, ...(stack !== undefined ? { stack } : {}), ...recorded };
  }
  if (death.signal !== null) {
    return { code: 'WORKER_CRASHED', message: `the handler's process was killed by ${death.signal} before the run finished`, ...recorded };
  }
  return { code: 'WORKER_EXITED', message: `the handler's process exited with ${describeDeath(death)} before the run finished`, ...recorded };
}
