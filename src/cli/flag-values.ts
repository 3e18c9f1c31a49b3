import { invalidArgument, SpindleError } from '../errors.js';

/** Turning command-line text into the values the protocol takes; a bad value names its flag. */

export function parseJsonObject(text: string, flag: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(flag, `is not JSON (${(err as Error).message})`);
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
