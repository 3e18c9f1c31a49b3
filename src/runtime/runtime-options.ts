import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { DAY, describe, MINUTE, parseDuration, parseInteger, SECOND } from '../duration.js';
import { dataDirOf, socketPathOf } from '../client/socket-path.js';
import { invalidArgument, SpindleError } from '../errors.js';
import { type HttpOptions, resolveHttpOptions, type ResolvedHttpOptions } from '../http/http-options.js';
import { IPC_DEFAULTS } from '../ipc/limits.js';
import { parseStoreSpec, type StoreSpec } from '../store-spec.js';
import type { Clock } from '../clock.js';
import type { LogFormat } from '../log.js';
import { systemClock } from '../clock.js';
import { MAX_KEY_RETENTION_MS } from '../task/submit-options.js';
import type { TaskDefinition } from '../task/define-task.js';
import type { TaskSource } from '../task/registry.js';

export type Mode = 'threads' | 'processes';

/**
 * An item of `tasks`: a definition with its `module`, or a module file or folder (path or file:
 * URL). `any`: a definition of any params and output is welcome here.
 */
export type TaskInput = string | URL | TaskDefinition<any, any, any>;

/** What `Runtime.start` takes; every field optional. Durations: ms or strings like "7d". */
export interface RuntimeOptions {
  /** Data directory: the store and the socket (default ./.spindle, env SPINDLE_DATA). */
  data?: string;
  /**
   * Where the tasks are kept: `level:DIR` (LevelDB in DIR) or `postgres://…` (shared). Default: env
   * SPINDLE_STORE, else LevelDB in `<data>/store`.
   */
  store?: string;
  /**
   * Where the task types come from: a tasks folder (default ./tasks), or a list whose items are
   * definitions given in code (each with `module: import.meta.url`, the module that exports it,
   * which a worker imports to run it), module files (a path or a file: URL, loaded as a folder's
   * module is) and folders.
   */
  tasks?: string | readonly TaskInput[];
  mode?: Mode;
  /** Pool size (default: the number of cores). */
  workers?: number;
  /** Heap cap per worker in MB (default 512). */
  workerMemory?: number;
  /** Runs in flight per worker (default 1; raise it for async, I/O-bound handlers). */
  runsPerWorker?: number;
  /** How long terminal tasks are kept: a duration or 'forever' (default 7d). */
  retention?: number | string;
  /**
   * How long an ended task keeps its idempotency key, so a retried submit gets it back (default
   * 24h; 0 frees the key when the task ends). Never longer than the task itself is kept.
   */
  keyRetention?: number | string;
  /** fsync every group commit before acknowledging or starting anything in it (default off). */
  sync?: boolean;
  /** PostgreSQL store: how long a claim holds without renewal (default 30s, 2s..1h). */
  lease?: number | string;
  /** Shutdown grace period before running handlers are killed (default 10s). */
  grace?: number | string;
  /** Time between aborting a run's signal and killing its worker (default 1s). */
  killGrace?: number | string;
  /** Lowest level logged, by the runtime and in workers (default info, or the level of `logger`). */
  logLevel?: string;
  /**
   * `pretty` (one readable line per event) or `json` (pino's JSON lines); default pretty when
   * stdout is a terminal, else json. Handlers' lines come out in it too. Unused with `logger`.
   */
  logFormat?: LogFormat;
  /** A pino logger to use instead of the runtime's own. */
  logger?: Logger;
  /** Dispatchable tasks held in memory (default 10,000; the rest stay in the store). */
  window?: number;
  /** Largest params accepted, in bytes of JSON (default 256 KiB). */
  maxParamsBytes?: number;
  /** Largest handler output stored, in bytes of JSON (default 256 KiB); past it the run fails with OUTPUT_TOO_LARGE. */
  maxOutputBytes?: number;
  /** A `list` or `pending` page ends early, with a cursor, before its JSON passes this (default 4 MiB). */
  maxReplyBytes?: number;
  /** Unsent bytes one socket connection may hold (default 8 MiB): requests wait for room; a client that stops reading is cut off. */
  maxPendingWriteBytes?: number;
  /**
   * Serve the IPC socket: `true` for `<data>/spindle.sock`, or a path. Default off in-process;
   * `spindle start` turns it on.
   */
  socket?: boolean | string;
  /** Longest protocol line accepted on the socket, in bytes (default 1 MiB). */
  maxFrameBytes?: number;
  /** Socket connections served at once (default 256; the HTTP server's limit too). */
  maxConnections?: number;
  /**
   * Serve HTTP (dashboard, JSON API, events, metrics): a port, `"HOST:PORT"` or `{ host?, port,
   * readOnly?, maxPendingEventBytes? }`. Default off; host 127.0.0.1 unless given.
   */
  http?: boolean | number | string | HttpOptions;
  clock?: Clock;
}

export interface ResolvedRuntimeOptions {
  readonly data: string;
  readonly store: StoreSpec;
  readonly tasks: readonly TaskSource[];
  readonly mode: Mode;
  readonly workers: number;
  readonly workerMemoryMb: number;
  readonly runsPerWorker: number;
  readonly retentionMs: number | null;
  readonly keyRetentionMs: number;
  readonly sync: boolean;
  readonly leaseMs: number;
  readonly graceMs: number;
  readonly killGraceMs: number;
  readonly logLevel: string;
  readonly logFormat: LogFormat;
  readonly logger: Logger | undefined;
  readonly windowSize: number;
  readonly maxParamsBytes: number;
  readonly maxOutputBytes: number;
  readonly maxReplyBytes: number;
  readonly maxPendingWriteBytes: number;
  readonly socketPath: string | null;
  readonly maxFrameBytes: number;
  readonly maxConnections: number;
  readonly http: ResolvedHttpOptions | null;
  readonly clock: Clock;
}

export const RUNTIME_DEFAULTS = {
  tasks: 'tasks',
  mode: 'threads' as Mode,
  workerMemoryMb: 512,
  runsPerWorker: 1,
  retentionMs: 7 * DAY,
  keyRetentionMs: 1 * DAY,
  leaseMs: 30_000,
  graceMs: 10 * SECOND,
  killGraceMs: 1 * SECOND,
  logLevel: 'info',
  windowSize: 10_000,
  maxParamsBytes: 256 * 1024,
  maxOutputBytes: 256 * 1024,
  maxReplyBytes: IPC_DEFAULTS.maxReplyBytes,
  maxPendingWriteBytes: IPC_DEFAULTS.maxPendingWriteBytes,
  sweepIntervalMs: 1 * MINUTE,
  sweepBatch: 256,
  maxFrameBytes: IPC_DEFAULTS.maxFrameBytes,
  maxConnections: IPC_DEFAULTS.maxConnections,
} as const;

/** sun_path holds 108 bytes on Linux, the last one a NUL; macOS allows 103. */
const MAX_SOCKET_PATH_BYTES = process.platform === 'darwin' ? 103 : 107;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const LOG_FORMATS: readonly LogFormat[] = ['pretty', 'json'];
const MAX_RETENTION_MS = 100 * 365 * DAY;

/** Validates the options once, at the boundary, into a frozen object (errors: INVALID_OPTION). */
export function resolveRuntimeOptions(input: RuntimeOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedRuntimeOptions {
  try {
    const d = RUNTIME_DEFAULTS;
    const mode = input.mode ?? d.mode;
    if (mode !== 'threads' && mode !== 'processes') throw invalidArgument('mode', `must be "threads" or "processes", got ${JSON.stringify(mode)}`);
    // A logger given at debug would otherwise hear nothing below info from the workers.
    const logLevel = input.logLevel ?? input.logger?.level ?? d.logLevel;
    if (!LOG_LEVELS.includes(logLevel)) throw invalidArgument('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`);
    const logFormat = input.logFormat ?? (process.stdout.isTTY === true ? 'pretty' : 'json');
    if (!LOG_FORMATS.includes(logFormat)) throw invalidArgument('logFormat', `must be "pretty" or "json", got ${JSON.stringify(logFormat)}`);
    const data = resolve(dataDirOf(input, env));
    return Object.freeze({
      data,
      store: input.store !== undefined || env.SPINDLE_STORE === undefined || env.SPINDLE_STORE === ''
        ? parseStoreSpec(input.store, data)
        : parseStoreSpec(env.SPINDLE_STORE, data, 'SPINDLE_STORE'),
      tasks: taskSources(input.tasks),
      mode,
      workers: input.workers === undefined ? availableParallelism() : parseInteger(input.workers, 'workers', 1, 1024),
      workerMemoryMb: input.workerMemory === undefined ? d.workerMemoryMb : parseInteger(input.workerMemory, 'workerMemory', 16, 1024 * 1024),
      runsPerWorker: input.runsPerWorker === undefined ? d.runsPerWorker : parseInteger(input.runsPerWorker, 'runsPerWorker', 1, 1000),
      retentionMs: input.retention === 'forever' ? null
        : input.retention === undefined ? d.retentionMs
        : parseDuration(input.retention, 'retention', { max: MAX_RETENTION_MS }),
      keyRetentionMs: input.keyRetention === undefined ? d.keyRetentionMs : parseDuration(input.keyRetention, 'keyRetention', { max: MAX_KEY_RETENTION_MS }),
      sync: input.sync ?? false,
      leaseMs: input.lease === undefined ? d.leaseMs : parseDuration(input.lease, 'lease', { min: 2000, max: 3_600_000 }),
      graceMs: input.grace === undefined ? d.graceMs : parseDuration(input.grace, 'grace'),
      killGraceMs: input.killGrace === undefined ? d.killGraceMs : parseDuration(input.killGrace, 'killGrace', { min: 1 }),
      logLevel,
      logFormat,
      logger: input.logger,
      windowSize: input.window === undefined ? d.windowSize : parseInteger(input.window, 'window', 10, 10_000_000),
      maxParamsBytes: input.maxParamsBytes === undefined ? d.maxParamsBytes : parseInteger(input.maxParamsBytes, 'maxParamsBytes', 1024, 64 * 1024 * 1024),
      maxOutputBytes: input.maxOutputBytes === undefined ? d.maxOutputBytes : parseInteger(input.maxOutputBytes, 'maxOutputBytes', 1024, 64 * 1024 * 1024),
      maxReplyBytes: input.maxReplyBytes === undefined ? d.maxReplyBytes : parseInteger(input.maxReplyBytes, 'maxReplyBytes', 64 * 1024, 1024 * 1024 * 1024),
      maxPendingWriteBytes: input.maxPendingWriteBytes === undefined ? d.maxPendingWriteBytes : parseInteger(input.maxPendingWriteBytes, 'maxPendingWriteBytes', 64 * 1024, 1024 * 1024 * 1024),
      socketPath: socketPath(input.socket, data),
      maxFrameBytes: input.maxFrameBytes === undefined ? d.maxFrameBytes : parseInteger(input.maxFrameBytes, 'maxFrameBytes', 1024, 1024 * 1024 * 1024),
      maxConnections: input.maxConnections === undefined ? d.maxConnections : parseInteger(input.maxConnections, 'maxConnections', 1, 65_536),
      http: resolveHttpOptions(input.http),
      clock: input.clock ?? systemClock,
    });
  } catch (err) {
    if (err instanceof SpindleError && err.code === 'INVALID_ARGUMENT') {
      throw new SpindleError('INVALID_OPTION', err.message, err.details);
    }
    throw err;
  }
}

/** A folder (the CLI's `--tasks`), or the list given in code, each item checked and named `tasks[i]`. */
function taskSources(input: RuntimeOptions['tasks']): readonly TaskSource[] {
  if (input === undefined || typeof input === 'string') return [{ kind: 'folder', path: resolve(input ?? RUNTIME_DEFAULTS.tasks), field: 'tasks' }];
  if (!Array.isArray(input)) throw invalidArgument('tasks', `must be a tasks folder or a list of task definitions, module URLs and folders, got ${describe(input)}`);
  return Object.freeze(input.map((item: unknown, i): TaskSource => {
    const field = `tasks[${i}]`;
    if (typeof item === 'string' || item instanceof URL) return { kind: 'path', path: filePath(item, field), field };
    if (typeof item !== 'object' || item === null || typeof (item as { run?: unknown }).run !== 'function') {
      throw invalidArgument(field, `must be a task definition, a module's file: URL or a path, got ${describe(item)}`);
    }
    const { module, name } = item as { module?: unknown; name?: unknown };
    if (module === undefined) {
      throw invalidArgument(`${field}.module`, `task type ${describe(name)} is given in code without \`module: import.meta.url\`: its handler runs in a worker, which imports the module that exports it; name that module`);
    }
    if (typeof module !== 'string' && !(module instanceof URL)) throw invalidArgument(`${field}.module`, `must be the module's URL (import.meta.url), got ${describe(module)}`);
    return { kind: 'definition', definition: item, module: filePath(module, `${field}.module`), field };
  }));
}

/** A path, or a file: URL, as an absolute path; any other URL is refused (a worker imports files only). */
function filePath(value: string | URL, field: string): string {
  if (typeof value === 'string' && !/^[a-z][a-z0-9+.-]+:/i.test(value)) return resolve(value);
  try {
    return fileURLToPath(value);
  } catch {
    throw invalidArgument(field, `must be a path or a file: URL, got ${describe(String(value))}`);
  }
}

function socketPath(option: boolean | string | undefined, data: string): string | null {
  if (option === undefined || option === false) return null;
  if (option !== true && (typeof option !== 'string' || option === '')) throw invalidArgument('socket', 'must be true, false or a path');
  const path = option === true ? socketPathOf({ data }) : resolve(option);
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw invalidArgument('socket', `the socket path ${path} is ${bytes} bytes; Unix sockets allow ${MAX_SOCKET_PATH_BYTES}: use a shorter data directory or --socket`);
  }
  return path;
}
