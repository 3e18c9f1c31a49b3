import { DAY, MAX_TIMER_MS, MINUTE, SECOND, describe, parseDuration, parseInteger, parseNumber } from '../duration.js';
import { invalidArgument } from '../errors.js';

/**
 * The one place for the options a task module sets and a submit may override: each field's
 * validator and its default. Module definitions (registry.ts) and client submits
 * (submit-options.ts) both go through here, so a value is refused the same way wherever it comes
 * from. Every validator takes the raw value (`undefined` means "not given": the fallback is used)
 * and refuses anything else out of range — including `null`, booleans and numeric strings — with
 * INVALID_ARGUMENT naming the field.
 */

export type Isolation = 'thread' | 'process';
export type Misfire = 'coalesce' | 'skip' | 'all';

export interface RetryPolicy {
  readonly delayMs: number;
  readonly backoff: number;
  readonly maxDelayMs: number;
  /** Fraction of the delay added or removed at random, 0..1. */
  readonly jitter: number;
}

export const TASK_DEFAULTS = Object.freeze({
  timeoutMs: 10 * MINUTE,
  maxTries: 3,
  retry: Object.freeze<RetryPolicy>({ delayMs: 1 * SECOND, backoff: 2, maxDelayMs: 5 * MINUTE, jitter: 0.2 }),
  /** null: unlimited. */
  concurrency: null as number | null,
  priority: 0,
  /** null: unlimited. */
  maxQueued: null as number | null,
  misfire: 'coalesce' as Misfire,
  graceMs: 1 * SECOND,
});

export const TASK_LIMITS = Object.freeze({
  maxTries: [1, 1000],
  concurrency: [1, 100_000],
  priority: [-1_000_000, 1_000_000],
  maxQueued: [1, 1_000_000_000],
  backoff: [1, 100],
  jitter: [0, 1],
  /** Retention is compared with wall-clock end times, never handed to a timer, so it may exceed MAX_TIMER_MS. */
  retentionMs: 10 * 365 * DAY,
} as const);

const MISFIRE_POLICIES: readonly Misfire[] = ['coalesce', 'skip', 'all'];
const ISOLATIONS: readonly Isolation[] = ['thread', 'process'];
const RETRY_FIELDS = new Set(['delay', 'backoff', 'maxDelay', 'jitter']);

/** Per-run limit: reaches a timer, so 1 ms .. 2^31−1 ms. */
export function timeoutOption(value: unknown, fallback: number = TASK_DEFAULTS.timeoutMs): number {
  return value === undefined ? fallback : parseDuration(value, 'timeout', { min: 1 });
}

export function maxTriesOption(value: unknown, fallback: number = TASK_DEFAULTS.maxTries): number {
  return value === undefined ? fallback : parseInteger(value, 'maxTries', ...TASK_LIMITS.maxTries);
}

export function priorityOption(value: unknown, fallback: number = TASK_DEFAULTS.priority): number {
  return value === undefined ? fallback : parseInteger(value, 'priority', ...TASK_LIMITS.priority);
}

/** Omitted means unlimited; `null` is refused like any other non-number so a typo is never "unlimited". */
export function concurrencyOption(value: unknown): number | null {
  return value === undefined ? TASK_DEFAULTS.concurrency : parseInteger(value, 'concurrency', ...TASK_LIMITS.concurrency);
}

/** Omitted means unlimited; `null` is refused, as for concurrency. */
export function maxQueuedOption(value: unknown): number | null {
  return value === undefined ? TASK_DEFAULTS.maxQueued : parseInteger(value, 'maxQueued', ...TASK_LIMITS.maxQueued);
}

export function graceMsOption(value: unknown, fallback: number = TASK_DEFAULTS.graceMs): number {
  return value === undefined ? fallback : parseDuration(value, 'graceMs');
}

export function misfireOption(value: unknown, fallback: Misfire = TASK_DEFAULTS.misfire): Misfire {
  if (value === undefined) return fallback;
  if (!MISFIRE_POLICIES.includes(value as Misfire)) {
    throw invalidArgument('misfire', `must be one of ${MISFIRE_POLICIES.map((p) => `"${p}"`).join(', ')}, got ${describe(value)}`);
  }
  return value as Misfire;
}

/** Omitted: the runtime's mode decides. */
export function isolationOption(value: unknown): Isolation | undefined {
  if (value === undefined) return undefined;
  if (!ISOLATIONS.includes(value as Isolation)) {
    throw invalidArgument('isolation', `must be "thread" or "process", got ${describe(value)}`);
  }
  return value as Isolation;
}

/** Returns ms, `null` for 'forever', or `undefined` when omitted (the runtime's retention applies). */
export function retentionOption(value: unknown): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'forever') return null;
  return parseDuration(value, 'retention', { max: TASK_LIMITS.retentionMs });
}

/**
 * Validates `{ delay?, backoff?, maxDelay?, jitter? }`. Unknown keys are refused (a misspelt
 * `maxdelay` would otherwise silently keep the default). When `maxDelay` is omitted it is the
 * default 5m or `delay`, whichever is larger, so a long `delay` alone is not refused.
 */
export function retryOption(value: unknown): RetryPolicy {
  if (value === undefined) return TASK_DEFAULTS.retry;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument('retry', `must be an object { delay?, backoff?, maxDelay?, jitter? }, got ${describe(value)}`);
  }
  const r = value as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (!RETRY_FIELDS.has(key)) throw invalidArgument(`retry.${key}`, 'is not a retry option; use delay, backoff, maxDelay or jitter');
  }
  const d = TASK_DEFAULTS.retry;
  const delayMs = r.delay === undefined ? d.delayMs : parseDuration(r.delay, 'retry.delay');
  const backoff = r.backoff === undefined ? d.backoff : parseNumber(r.backoff, 'retry.backoff', ...TASK_LIMITS.backoff);
  const maxDelayMs = r.maxDelay === undefined ? Math.max(d.maxDelayMs, delayMs) : parseDuration(r.maxDelay, 'retry.maxDelay', { min: delayMs });
  const jitter = r.jitter === undefined ? d.jitter : parseNumber(r.jitter, 'retry.jitter', ...TASK_LIMITS.jitter);
  return Object.freeze({ delayMs, backoff, maxDelayMs, jitter });
}

/**
 * The wait before the next run after try `tryNumber` (≥ 1) failed (SPEC §3):
 * `min(maxDelay, delay × backoff^(n−1))`, then a uniform ± `jitter` fraction, rounded to whole ms
 * and clamped to what a timer accepts. Pure: `random` (values in [0, 1)) is injected.
 */
export function retryDelay(tryNumber: number, retry: RetryPolicy, random: () => number = Math.random): number {
  if (!Number.isSafeInteger(tryNumber) || tryNumber < 1) throw new RangeError(`tryNumber must be an integer ≥ 1, got ${tryNumber}`);
  // 0 × backoff^n is NaN once backoff^n overflows to Infinity, so a zero delay stays zero explicitly.
  const base = retry.delayMs === 0 ? 0 : Math.min(retry.maxDelayMs, retry.delayMs * retry.backoff ** (tryNumber - 1));
  const jittered = base * (1 - retry.jitter + 2 * retry.jitter * random());
  return Math.min(MAX_TIMER_MS, Math.max(0, Math.round(jittered)));
}
