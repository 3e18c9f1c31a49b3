import type { Command } from 'commander';
import { isSpindleError, SpindleError } from '../errors.js';
import type { Mode, RuntimeOptions } from '../runtime/runtime-options.js';
import { numberOrText, storeSpec, wholeNumber } from './flag-values.js';
import { fromCommandLine } from './report-error.js';

interface StartFlags {
  data?: string;
  store?: string;
  lease?: string;
  socket?: string;
  tasks?: string;
  mode?: string;
  workers?: string;
  runsPerWorker?: string;
  workerMemory?: string;
  retention?: string;
  keyRetention?: string;
  sync?: boolean;
  logLevel?: string;
  logFormat?: string;
  http?: string;
  httpReadOnly?: boolean;
}

/** `spindle start`: the runtime in the foreground until SIGINT/SIGTERM (a second signal exits at once). */
export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run the runtime in the foreground')
    .option('--data <dir>', 'data directory (store and socket); env SPINDLE_DATA', undefined)
    .option('--store <spec>', 'where the tasks are kept: level:DIR (LevelDB in DIR) or postgres://… (shared); env SPINDLE_STORE (default LevelDB in <data>/store)')
    .option('--socket <path>', 'where to listen (default <data>/spindle.sock)')
    .option('--tasks <dir>', 'task modules directory', 'tasks')
    .option('--mode <mode>', 'threads | processes', 'threads')
    .option('--workers <n>', 'pool size (default: cores)')
    .option('--runs-per-worker <n>', 'runs in flight per worker (default 1; raise it for async, I/O-bound handlers)')
    .option('--worker-memory <mb>', 'heap cap per worker in MB', '512')
    .option('--retention <duration>', "how long terminal tasks are kept, or 'forever'", '7d')
    .option('--key-retention <duration>', 'how long an ended task keeps its idempotency key (0: freed when it ends)', '24h')
    .option('--sync', 'fsync every group commit before acknowledging it', false)
    .option('--lease <duration>', 'PostgreSQL store: how long a claim holds without renewal (default 30s)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent', 'info')
    .option('--log-format <format>', 'pretty | json (default: pretty on a terminal, else json)')
    .option('--http <[host:]port>', 'serve the dashboard, JSON API, events and metrics over HTTP (host 127.0.0.1 unless given)')
    .option('--http-read-only', 'HTTP answers reads only: every write is refused (403 READ_ONLY)', false)
    .action(async (flags: StartFlags) => {
      // Loaded here, not at the top: every other command is a client and must start fast (README, CLI).
      const [{ Runtime }, { parseHttpAddress }] = await Promise.all([import('../runtime/runtime.js'), import('../http/http-options.js')]);
      const options: RuntimeOptions = fromCommandLine(() => ({
        ...(flags.data !== undefined ? { data: flags.data } : {}),
        ...storeOption(flags),
        socket: flags.socket ?? true,
        ...(flags.tasks !== undefined ? { tasks: flags.tasks } : {}),
        mode: flags.mode as Mode,
        ...(flags.workers !== undefined ? { workers: wholeNumber(flags.workers, '--workers', { code: 'INVALID_OPTION' }) } : {}),
        ...(flags.runsPerWorker !== undefined ? { runsPerWorker: wholeNumber(flags.runsPerWorker, '--runs-per-worker', { code: 'INVALID_OPTION' }) } : {}),
        ...(flags.workerMemory !== undefined ? { workerMemory: wholeNumber(flags.workerMemory, '--worker-memory', { code: 'INVALID_OPTION' }) } : {}),
        ...(flags.retention !== undefined ? { retention: numberOrText(flags.retention) } : {}),
        ...(flags.keyRetention !== undefined ? { keyRetention: numberOrText(flags.keyRetention) } : {}),
        sync: flags.sync === true,
        ...(flags.lease !== undefined ? { lease: numberOrText(flags.lease) } : {}),
        ...(flags.logLevel !== undefined ? { logLevel: flags.logLevel } : {}),
        ...(flags.logFormat !== undefined ? { logFormat: flags.logFormat as NonNullable<RuntimeOptions['logFormat']> } : {}),
        ...httpOption(flags, parseHttpAddress),
      }));
      const runtime = await Runtime.start(options);
      // The pool's threads and the runtime's timers do not hold the event loop: this does, until stop.
      const alive = setInterval(() => undefined, 1 << 30);
      void runtime.whenStopped().then(() => {
        clearInterval(alive);
        const failure = runtime.failure;
        if (failure !== null) process.stderr.write(`spindle: ${failure.code}: ${failure.message}\n`);
        process.exit(failure === null ? 0 : 1);
      });
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals): void => {
        signals++;
        if (signals > 1) {
          runtime.log.warn({ signal }, 'second signal: exiting at once');
          process.exit(130);
        }
        runtime.log.info({ signal }, 'stopping');
        void runtime.stop();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
}

/**
 * `--store SPEC`, else $SPINDLE_STORE (where a URL with a password stays out of `ps`), refused here
 * when bad (exit 2, before anything loads); the runtime reads it again.
 */
function storeOption(flags: StartFlags): Pick<RuntimeOptions, 'store'> {
  if (flags.store !== undefined) {
    storeSpec(flags);
    return { store: flags.store };
  }
  const env = process.env.SPINDLE_STORE;
  if (env === undefined || env === '') return {};
  storeSpec({ ...flags, store: env }, 'SPINDLE_STORE');
  return { store: env };
}

/** `--http [HOST:]PORT` (the runtime judges it, naming the field) and `--http-read-only`. */
function httpOption(flags: StartFlags, parseHttpAddress: (value: string) => { host?: string; port: number }): Pick<RuntimeOptions, 'http'> {
  if (flags.http === undefined) {
    if (flags.httpReadOnly === true) throw new SpindleError('INVALID_OPTION', '--http-read-only: only with --http [HOST:]PORT', { field: '--http-read-only' });
    return {};
  }
  if (flags.httpReadOnly !== true) return { http: flags.http };
  try {
    return { http: { ...parseHttpAddress(flags.http), readOnly: true } };
  } catch (err) {
    throw isSpindleError(err) ? new SpindleError('INVALID_OPTION', err.message, err.details) : err;
  }
}
