import { parseDuration } from '../duration.js';
import { SpindleError } from '../errors.js';
import { AtTrigger, parseInstant } from './at.js';
import type { Trigger } from './trigger.js';

/** A schedule as stored with its task: relative forms are resolved to instants at submit. */
export type NormalizedSchedule = { at: string };

export interface CompiledSchedule {
  spec: NormalizedSchedule;
  recurring: boolean;
  trigger: Trigger;
  /** The first due time; a past `at` is due now. */
  first: number;
}

/**
 * Validates and compiles a submit's schedule. Absent means due now. This version knows the
 * one-shot forms `{ at }` and `{ in }`; the recurring forms are refused by name.
 */
export function compileSchedule(input: unknown, now: number): CompiledSchedule {
  if (input === undefined) return oneShot(now, now);
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new SpindleError('INVALID_SCHEDULE', 'schedule must be an object such as { "at": "2026-12-01T09:00:00Z" } or { "in": "10m" }', { field: 'schedule' });
  }
  const keys = Object.keys(input);
  const s = input as Record<string, unknown>;
  if (keys.length === 1 && keys[0] === 'at') return oneShot(parseInstant(s.at, 'schedule.at'), now);
  if (keys.length === 1 && keys[0] === 'in') {
    let delay: number;
    try {
      delay = parseDuration(s.in, 'schedule.in');
    } catch (err) {
      throw new SpindleError('INVALID_SCHEDULE', (err as Error).message, { field: 'schedule.in' }, err);
    }
    return oneShot(now + delay, now);
  }
  const recurring = keys.find((k) => ['every', 'cron', 'rrule', 'any', 'all'].includes(k));
  if (recurring !== undefined) {
    throw new SpindleError('INVALID_SCHEDULE', `schedule.${recurring}: recurring schedules are not available in this version; use at or in`, { field: `schedule.${recurring}` });
  }
  throw new SpindleError('INVALID_SCHEDULE', `schedule must have exactly one of at or in; got ${keys.map((k) => JSON.stringify(k)).join(', ') || 'no field'}`, { field: 'schedule' });
}

/** Rebuilds a stored schedule's trigger after a restart. */
export function restoreSchedule(spec: unknown): { recurring: boolean; trigger: Trigger } {
  const at = Date.parse((spec as NormalizedSchedule).at);
  return { recurring: false, trigger: new AtTrigger(at) };
}

function oneShot(at: number, now: number): CompiledSchedule {
  return { spec: { at: new Date(at).toISOString() }, recurring: false, trigger: new AtTrigger(at), first: Math.max(at, now) };
}
