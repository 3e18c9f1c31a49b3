import { type DurationBounds, describe, parseDuration } from '../duration.js';
import { SpindleError } from '../errors.js';
import { FIRST_INSTANT, LAST_INSTANT, daysInMonth } from './civil.js';
import type { Bounds, Trigger } from './trigger.js';
import { Zone } from './zone.js';

/** The validation shared by every schedule form. Every refusal is INVALID_SCHEDULE naming its field. */

/**
 * Most occurrences a `count` (or an RRULE's COUNT) may ask for. Knowing a fire time's index can
 * take a walk from the start of up to this many steps (a few µs each, more across many years of
 * a zone's transitions); this keeps the worst case near 0.1 s.
 */
export const MAX_COUNT = 10_000;

export interface CompileContext {
  /** The submit time; null while restoring a stored (already normalised) schedule. */
  now: number | null;
  /** Where this part sits, for error fields: `schedule`, `schedule.any[1]`, … */
  path: string;
  /** How many any/all arrays hold this part, as written (before flattening); 0 at the top. */
  nesting?: number;
}

export interface CompiledPart<S> {
  spec: S;
  trigger: Trigger;
}

export function invalidSchedule(field: string, message: string, cause?: unknown): SpindleError {
  return new SpindleError('INVALID_SCHEDULE', `${field}: ${message}`, { field }, cause);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Refuses keys the form does not have, so a typo (`ends`, `timezone`) is not silently ignored. */
export function checkKeys(node: Record<string, unknown>, allowed: readonly string[], path: string, form: string): void {
  for (const key of Object.keys(node)) {
    if (!allowed.includes(key)) {
      throw invalidSchedule(`${path}.${key}`, `a ${form} schedule has no field ${JSON.stringify(key)}; it takes ${allowed.join(', ')}`);
    }
  }
}

const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * An instant: an ISO-8601 string with an explicit offset (`Z` or `±hh:mm`; a local time would be
 * ambiguous), or whole milliseconds since the epoch. Impossible dates (Feb 30, 24:00) are refused
 * rather than rolled over as Date.parse would. Either way it must lie within FIRST_INSTANT …
 * LAST_INSTANT, so that its stored form (formatInstant) parses back to it.
 */
export function parseInstant(value: unknown, field: string): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= FIRST_INSTANT && value <= LAST_INSTANT) return value;
    throw invalidSchedule(field, `${describe(value)} is not an instant; use whole milliseconds since 1970 or an ISO-8601 string like "2026-12-01T09:00:00Z"`);
  }
  const m = typeof value === 'string' ? ISO_INSTANT.exec(value) : null;
  if (!m) throw invalidSchedule(field, `${describe(value)} is not an ISO-8601 instant with an offset, like "2026-12-01T09:00:00Z"`);
  const [y, mo, d, h, mi, s = 0, oh = 0, om = 0] = m.slice(1).map((x) => (x === undefined ? undefined : Number(x))) as number[];
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > daysInMonth(y!, mo!) || h! > 23 || mi! > 59 || s > 59 || oh > 23 || om > 59) {
    throw invalidSchedule(field, `${describe(value)} is not a real date and time`);
  }
  const ms = Date.parse(value as string);
  if (ms < FIRST_INSTANT || ms > LAST_INSTANT) {
    throw invalidSchedule(field, `${describe(value)} is outside the instants a schedule can hold, ${formatInstant(FIRST_INSTANT)} to ${formatInstant(LAST_INSTANT)}`);
  }
  return ms;
}

// Instants are formatted in bursts (a submitMany's thousand tasks, and then their views, share
// one millisecond): the last one is kept, as formatting costs more than the rest of a view.
let lastMs = NaN;
let lastText = '';
export function formatInstant(ms: number): string {
  if (ms !== lastMs) {
    lastText = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastText;
}

/** An IANA zone name (default UTC); the stored name is Intl's canonical spelling. */
export function parseZone(value: unknown, field: string): Zone {
  if (value === undefined) return Zone.of('UTC')!;
  const zone = typeof value === 'string' && value.length <= 64 ? Zone.of(value) : null;
  if (zone === null) throw invalidSchedule(field, `${describe(value)} is not an IANA time zone; use a name like "Europe/Paris" or "UTC"`);
  return zone;
}

export function parseCount(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > MAX_COUNT) {
    throw invalidSchedule(field, `must be a whole number of occurrences from 1 to ${MAX_COUNT}, got ${describe(value)}`);
  }
  return value;
}

/** parseDuration, with its INVALID_ARGUMENT turned into INVALID_SCHEDULE for the same field. */
export function parseScheduleDuration(value: unknown, field: string, bounds: DurationBounds): number {
  try {
    return parseDuration(value, field, bounds);
  } catch (err) {
    throw invalidSchedule(field, (err as Error).message.replace(`${field}: `, ''), err);
  }
}

/** The stored form of start, end and count. */
export interface BoundsSpec {
  start?: string;
  end?: string;
  count?: number;
}

/**
 * Reads `start`, `end` and `count`. A count is counted from start, so a count without a start
 * gets the submit time as its start, stored, so that a restart counts from the same place.
 */
export function parseBounds(node: Record<string, unknown>, ctx: CompileContext, startDefault: 'now' | 'with-count' | 'none'): { bounds: Bounds; spec: BoundsSpec } {
  const bounds: Bounds = {};
  if (node.start !== undefined) bounds.start = parseInstant(node.start, `${ctx.path}.start`);
  if (node.end !== undefined) bounds.end = parseInstant(node.end, `${ctx.path}.end`);
  if (node.count !== undefined) bounds.count = parseCount(node.count, `${ctx.path}.count`);
  const needsStart = startDefault === 'now' || (startDefault === 'with-count' && bounds.count !== undefined);
  if (bounds.start === undefined && needsStart) {
    if (ctx.now === null) throw invalidSchedule(`${ctx.path}.start`, 'a stored schedule must have its start');
    bounds.start = ctx.now;
  }
  if (bounds.start !== undefined && bounds.end !== undefined && bounds.end < bounds.start) {
    throw invalidSchedule(`${ctx.path}.end`, `${formatInstant(bounds.end)} is before the start ${formatInstant(bounds.start)}`);
  }
  const spec: BoundsSpec = {};
  if (bounds.start !== undefined) spec.start = formatInstant(bounds.start);
  if (bounds.end !== undefined) spec.end = formatInstant(bounds.end);
  if (bounds.count !== undefined) spec.count = bounds.count;
  return { bounds, spec };
}
