import { availableParallelism } from 'node:os';
import pino from 'pino';
import type { Logger } from 'pino';
import { MAX_TIMER_MS, parseInteger, SECOND } from '../duration.js';
import { SpindleError } from '../errors.js';

/** What both executors take: the pool's shape, its limits and its logging. */
export interface PoolOptions {
  /** Workers in the pool, 1..1024 (default: os.availableParallelism()). */
  workers?: number;
  /** Runs in flight per worker, 1..1000 (default 1; raise it for async, I/O-bound handlers). */
  runsPerWorker?: number;
  /** Heap cap per worker in MB, 16..1048576 (default 512): V8's old-generation limit. */
  workerMemoryMb?: number;
  /** Milliseconds between aborting a run's signal and killing its worker (default 1 s). */
  killGraceMs?: number;
  /** pino level for handler logs and the executor's own (default 'info'). */
  logLevel?: string;
  /** Logger for the executor's own lines (workers it kills, workers dying idle). */
  logger?: Logger;
}

export interface ResolvedPoolOptions {
  readonly workers: number;
  readonly runsPerWorker: number;
  readonly workerMemoryMb: number;
  readonly killGraceMs: number;
  readonly logLevel: string;
}

/**
 * The most runs a worker is sent beyond those it has room for, queued there behind them (runs
 * claimed ahead, src/supervisor/slots.ts): only short runs are, and what a worker gets through in
 * a few ms is all it takes to keep it busy while the next claim is written.
 */
export const MAX_QUEUED_PER_WORKER = 16;

export const POOL_DEFAULTS = {
  runsPerWorker: 1,
  workerMemoryMb: 512,
  killGraceMs: 1 * SECOND,
  logLevel: 'info',
} as const;

/** An integer option within min..max, or its fallback; refused with INVALID_OPTION naming it. */
export function integerOption(value: number | undefined, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  try {
    return parseInteger(value, field, min, max);
  } catch (err) {
    throw err instanceof SpindleError ? new SpindleError('INVALID_OPTION', err.message, err.details) : err;
  }
}

/** Validates once into a frozen object; a bad field is refused with INVALID_OPTION naming it. */
export function resolvePoolOptions(input: PoolOptions): ResolvedPoolOptions {
  const d = POOL_DEFAULTS;
  const logLevel = input.logLevel ?? d.logLevel;
  if (logLevel !== 'silent' && !Object.hasOwn(pino.levels.values, logLevel)) {
    throw new SpindleError('INVALID_OPTION', `logLevel: must be one of ${[...Object.keys(pino.levels.values), 'silent'].join(', ')}`, { field: 'logLevel' });
  }
  return Object.freeze({
    workers: integerOption(input.workers, 'workers', 1, 1024, availableParallelism()),
    runsPerWorker: integerOption(input.runsPerWorker, 'runsPerWorker', 1, 1000, d.runsPerWorker),
    workerMemoryMb: integerOption(input.workerMemoryMb, 'workerMemoryMb', 16, 1024 * 1024, d.workerMemoryMb),
    killGraceMs: integerOption(input.killGraceMs, 'killGraceMs', 0, MAX_TIMER_MS, d.killGraceMs),
    logLevel,
  });
}
