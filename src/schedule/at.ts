import { SpindleError } from '../errors.js';
import type { Trigger } from './trigger.js';

/** One fire, at one instant. */
export class AtTrigger implements Trigger {
  readonly #at: number;

  constructor(at: number) {
    this.#at = at;
  }

  next(after: number): number | null {
    return this.#at > after ? this.#at : null;
  }
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Parses an ISO-8601 instant with an explicit offset (`Z` or `±hh:mm`); a local time is ambiguous. */
export function parseInstant(value: unknown, field: string): number {
  if (typeof value !== 'string' || !ISO_INSTANT.test(value)) {
    throw new SpindleError('INVALID_SCHEDULE', `${field} must be an ISO-8601 instant with an offset, like "2026-12-01T09:00:00Z"`, { field });
  }
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new SpindleError('INVALID_SCHEDULE', `${field}: ${JSON.stringify(value)} is not a real instant`, { field });
  return ms;
}
