import { CommanderError } from 'commander';
import { isSpindleError, SpindleError } from '../errors.js';

/**
 * Exit codes: 0 success; 1 the command ran and failed (no runtime, the runtime refused it, a
 * `--wait` task that did not finish); 2 the command line was refused and nothing was sent.
 */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

const usageErrors = new WeakSet<object>();

/**
 * Reads a command's flags and arguments into what it sends: an error thrown by `read` is the
 * command line's (exit 2), whereas the same code answered by the runtime exits 1.
 */
export function fromCommandLine<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (typeof err === 'object' && err !== null) usageErrors.add(err);
    throw err;
  }
}

/**
 * Commander's own refusals (unknown option or command, missing or excess argument) as a
 * SpindleError: one line, with the help command to run instead of commander's usage dump.
 */
export function fromCommander(err: CommanderError, command: string | undefined): SpindleError {
  const message = err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim();
  const hint = command === undefined ? 'spindle help' : `spindle help ${command}`;
  const usage = new SpindleError('INVALID_ARGUMENT', `${message} (hint: ${hint})`, { reason: err.code.replace(/^commander\./, ''), hint });
  usageErrors.add(usage);
  return usage;
}

/**
 * Prints `err` as one line on stderr (`spindle: CODE: message`) and, with `--json`, as
 * `{ "error": { code, message, … } }` on stdout, so scripts read one format; answers the exit code.
 */
export function reportError(err: unknown, json: boolean): number {
  const error = isSpindleError(err) ? err : new SpindleError('INTERNAL', err instanceof Error ? err.message : String(err));
  if (json) process.stdout.write(`${JSON.stringify({ error: error.toJSON() })}\n`);
  const path = error.details.path;
  const where = path === undefined || error.message.includes(path) ? '' : ` (${path})`;
  process.stderr.write(`spindle: ${error.code}: ${error.message}${where}\n`);
  return usageErrors.has(error) ? EXIT_USAGE : EXIT_FAILED;
}
