import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { dataDirOf } from '../client/socket-path.js';
import { invalidArgument, isSpindleError, SpindleError } from '../errors.js';
import { parseStoreSpec, type StoreSpec } from '../store-spec.js';

/** Turning command-line text into the values the protocol takes; a bad value names its flag. */

export function parseJsonObject(text: string, flag: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(flag, `is not JSON (${(err as Error).message.replace(/\s+/g, ' ')})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidArgument(flag, 'must be a JSON object');
  return value as Record<string, unknown>;
}

/** "5" → 5 so counts and millisecond values arrive as numbers; anything else stays text. */
export function numberOrText(text: string): number | string {
  return /^\d+$/.test(text) ? Number(text) : text;
}

/**
 * A whole number, refused at once when the text is not one (ranges are the runtime's to judge).
 * `start` passes INVALID_OPTION: its flags are start-up options, not request fields.
 */
export function wholeNumber(text: string, flag: string, options: { signed?: boolean; code?: 'INVALID_ARGUMENT' | 'INVALID_OPTION' } = {}): number {
  if (!(options.signed === true ? /^-?\d+$/ : /^\d+$/).test(text)) {
    throw new SpindleError(options.code ?? 'INVALID_ARGUMENT', `${flag}: must be a whole number, got ${JSON.stringify(text)}`, { field: flag });
  }
  return Number(text);
}

/**
 * `--store SPEC` with the `--data` beside it (start, repair). Like start's other flags it is a
 * start-up option: refused as INVALID_OPTION, on the command line (exit 2).
 */
export function storeSpec(flags: { store?: string; data?: string }, field = '--store'): StoreSpec {
  try {
    return parseStoreSpec(flags.store, resolve(dataDirOf(flags)), field);
  } catch (err) {
    throw isSpindleError(err, 'INVALID_ARGUMENT') ? new SpindleError('INVALID_OPTION', err.message, err.details) : err;
  }
}

/**
 * A file named on the command line (`-` is stdin), as text. A file that cannot be read is
 * FILE_UNREADABLE naming the flag, the path and the system's reason, never a bare ENOENT.
 */
export function readTextFile(path: string, flag: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code ?? 'EIO';
    const why = errno === 'ENOENT' ? 'no such file' : errno === 'EACCES' ? 'permission denied' : errno === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    throw new SpindleError('FILE_UNREADABLE', `${flag}: cannot read ${path === '-' ? 'stdin' : path}: ${why} (${errno}); check the path`, { field: flag, path, errno }, err);
  }
}

/** `--params JSON`, or `--params @FILE` for a JSON file (`@-`: stdin). */
export function paramsFrom(text: string): Record<string, unknown> {
  if (!text.startsWith('@')) return parseJsonObject(text, '--params');
  const file = text.slice(1);
  return parseJsonObject(readTextFile(file, '--params'), `--params ${text}`);
}
