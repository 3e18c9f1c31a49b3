import { invalidArgument } from './errors.js';

export const MS = 1;
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const WEEK = 7 * DAY;

/** setTimeout fires after 1 ms for anything above this (or for NaN, or below 1): never pass it more. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const UNITS: Record<string, number> = { ms: MS, s: SECOND, m: MINUTE, h: HOUR, d: DAY, w: WEEK };
const DURATION_RE = /^(\d+)(ms|s|m|h|d|w)$/;

export interface DurationBounds {
  /** Smallest accepted value in ms (default 0). */
  min?: number;
  /** Largest accepted value in ms (default MAX_TIMER_MS, so the value can always reach a timer). */
  max?: number;
}

/**
 * Parses a duration: a non-negative integer of milliseconds or a string `500ms`, `30s`, `5m`,
 * `2h`, `1d`, `1w`. Anything else — NaN, negatives, fractions, numeric strings, null, booleans,
 * values past `max` — is refused with INVALID_ARGUMENT naming `field`.
 */
export function parseDuration(value: unknown, field: string, bounds: DurationBounds = {}): number {
  const min = bounds.min ?? 0;
  const max = bounds.max ?? MAX_TIMER_MS;
  let ms: number;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw invalidArgument(field, `must be a whole number of milliseconds or a string like "30s", got ${String(value)}`);
    }
    ms = value;
  } else if (typeof value === 'string') {
    const m = DURATION_RE.exec(value.trim());
    if (!m) {
      throw invalidArgument(field, `"${value.slice(0, 40)}" is not a duration; use milliseconds or a string like 500ms, 30s, 5m, 2h, 1d, 1w`);
    }
    ms = Number(m[1]) * UNITS[m[2]!]!;
    if (!Number.isSafeInteger(ms)) throw invalidArgument(field, `"${value.slice(0, 40)}" is too long`);
  } else {
    throw invalidArgument(field, `must be a duration (milliseconds or a string like "30s"), got ${describe(value)}`);
  }
  if (ms < min) throw invalidArgument(field, `must be at least ${formatDuration(min)}, got ${formatDuration(ms)}`);
  if (ms > max) throw invalidArgument(field, `must be at most ${formatDuration(max)}, got ${formatDuration(ms)}`);
  return ms;
}

/** Parses an integer option within [min, max], refusing anything else with INVALID_ARGUMENT. */
export function parseInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw invalidArgument(field, `must be a whole number, got ${describe(value)}`);
  }
  if (value < min || value > max) throw invalidArgument(field, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** Parses a finite number within [min, max], refusing anything else with INVALID_ARGUMENT. */
export function parseNumber(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalidArgument(field, `must be a finite number, got ${describe(value)}`);
  }
  if (value < min || value > max) throw invalidArgument(field, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [['w', WEEK], ['d', DAY], ['h', HOUR], ['m', MINUTE], ['s', SECOND]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

