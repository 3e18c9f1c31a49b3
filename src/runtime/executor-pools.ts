import type { Logger } from 'pino';
import type { Executor } from '../executor/executor.js';
import { ProcessExecutor } from '../executor/process-executor.js';
import { ThreadExecutor } from '../executor/thread-executor.js';
import type { Registry, TaskType } from '../task/registry.js';
import type { Isolation } from '../task/task-options.js';
import { heartbeatPath, staleMs } from './heartbeat.js';
import type { Mode, ResolvedRuntimeOptions } from './runtime-options.js';

/** The runtime's executors: the mode's pool first, then the other one when a type asks for it. */
export interface ExecutorPools {
  readonly executors: readonly Executor[];
  executorFor(type: TaskType): Executor;
}

const MODE_OF: Readonly<Record<Isolation, Mode>> = { thread: 'threads', process: 'processes' };

/**
 * Creates the pools the registry needs, not started. The mode's pool has `workers` workers. A pool
 * of the other kind exists only when some type's `isolation` asks for it, and holds no more
 * workers than those types can use at once: their summed `concurrency`, at most `workers`.
 */
export function createExecutorPools(options: ResolvedRuntimeOptions, registry: Registry, logger: Logger): ExecutorPools {
  const other: Mode = options.mode === 'threads' ? 'processes' : 'threads';
  const overriding = [...registry.types.values()].filter((t) => t.isolation !== undefined && MODE_OF[t.isolation] === other);
  const primary = createExecutor(options.mode, options.workers, options, logger);
  if (overriding.length === 0) return { executors: [primary], executorFor: () => primary };
  const wanted = overriding.reduce((sum, t) => sum + (t.concurrency ?? options.workers), 0);
  const secondary = createExecutor(other, Math.min(options.workers, wanted), options, logger);
  return {
    executors: [primary, secondary],
    executorFor: (type) => (type.isolation !== undefined && MODE_OF[type.isolation] === other ? secondary : primary),
  };
}

function createExecutor(mode: Mode, workers: number, options: ResolvedRuntimeOptions, logger: Logger): Executor {
  const shared = {
    workers,
    runsPerWorker: options.runsPerWorker,
    workerMemoryMb: options.workerMemoryMb,
    killGraceMs: options.killGraceMs,
    logLevel: options.logLevel,
    logger,
  };
  if (mode === 'threads') return new ThreadExecutor(shared);
  // With leases, a child kills its handlers when the runtime stops beating (see StallFence).
  const heartbeat = options.store.kind === 'postgres' ? { path: heartbeatPath(options.data), staleMs: staleMs(options.leaseMs) } : undefined;
  return new ProcessExecutor({ ...shared, heartbeat });
}
