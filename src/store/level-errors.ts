import { SpindleError } from '../errors.js';

interface LevelFailure {
  code?: string;
  message?: string;
  cause?: LevelFailure;
}

/** The innermost LevelDB status: abstract-level wraps the binding's error in a `cause`. */
function levelCause(err: unknown): { code: string; text: string } {
  let e = err as LevelFailure | undefined;
  let code = e?.code ?? '';
  let text = e?.message ?? String(err);
  while (e?.cause !== undefined) {
    e = e.cause;
    if (e.code !== undefined) code = e.code;
    if (e.message !== undefined) text = e.message;
  }
  return { code, text };
}

/**
 * Whether LevelDB found its files damaged. Besides its Corruption status, a table file cut short
 * reads as an IO error "Invalid argument" (a read past the file's end) on one of its own files.
 */
export function isCorruption(err: unknown): boolean {
  const { code, text } = levelCause(err);
  return code === 'LEVEL_CORRUPTION' || /corrupt/i.test(text) || /\.(ldb|sst|log)\b.*invalid argument/i.test(text) || /MANIFEST-\d+/.test(text);
}

export function corruptError(path: string, err: unknown): SpindleError {
  if (err instanceof SpindleError && err.code === 'STORE_CORRUPT') return err;
  return new SpindleError('STORE_CORRUPT', `the store at ${path} is damaged (${levelCause(err).text}); run \`spindle repair\` while no runtime uses it`, { path }, err);
}

/** A failed read or write at run time: damage is STORE_CORRUPT, anything else STORE_UNAVAILABLE. */
export function runTimeError(path: string, err: unknown, what: 'read' | 'write'): SpindleError {
  if (err instanceof SpindleError) return err;
  if (isCorruption(err)) return corruptError(path, err);
  return new SpindleError('STORE_UNAVAILABLE', `the store at ${path} could not ${what}: ${levelCause(err).text}; retry later`, { path }, err);
}

/** Why the store would not open, as the start-up code SPEC §6 names. */
export function openError(err: unknown, path: string): SpindleError {
  if (err instanceof SpindleError) return err;
  const e = err as { code?: string };
  const { code, text } = levelCause(err);
  if (code === 'LEVEL_LOCKED') {
    return new SpindleError('ALREADY_RUNNING', `another runtime (or a repair) holds the store at ${path}; stop it first (spindle stop)`, { path }, err);
  }
  if (e.code === 'EACCES' || e.code === 'EROFS' || /permission denied|read-only/i.test(text)) {
    return new SpindleError('STORE_READONLY', `cannot write the store at ${path}: ${text}; check its permissions`, { path }, err);
  }
  if (isCorruption(err)) return corruptError(path, err);
  if (/no space left/i.test(text)) {
    return new SpindleError('STORE_UNAVAILABLE', `no space left for the store at ${path}: ${text}; free some and start again`, { path }, err);
  }
  return new SpindleError('STORE_INVALID', `cannot open the store at ${path}: ${text}`, { path }, err);
}
