import { parseInteger } from '../duration.js';
import { compileAll } from './all.js';
import { compileAny } from './any.js';
import { AtTrigger, compileAt } from './at.js';
import { type CronSpec, compileCron } from './cron.js';
import { type AdaptiveInterval, type EverySpec, compileEvery } from './every.js';
import { type RRuleSpec, compileRRule } from './rrule.js';
import { type CompileContext, type CompiledPart, formatInstant, invalidSchedule, isPlainObject } from './schedule-fields.js';
import type { Trigger } from './trigger.js';

export type { Trigger } from './trigger.js';
export type { AdaptiveInterval } from './every.js';
export { adaptInterval } from './every.js';

/**
 * A schedule as stored with its task (SPEC §4): relative forms resolved against the submit time
 * (`in` → `at`; `every` and counted cron/rrule get `start`), instants as ISO strings in UTC, zones
 * in Intl's canonical spelling, and nested any/all of the same kind flattened.
 */
export type NormalizedSchedule =
  | { at: string }
  | EverySpec
  | CronSpec
  | RRuleSpec
  | { any: NormalizedSchedule[] }
  | { all: NormalizedSchedule[] };

export interface CompiledSchedule {
  spec: NormalizedSchedule;
  recurring: boolean;
  trigger: Trigger;
  /** The first due time, at or after the submit time: a past `at` (or no schedule) is due now. */
  first: number;
  /** The interval limits of an adaptive `every` (SPEC §4), else null. */
  adaptive: AdaptiveInterval | null;
}

const KINDS = ['at', 'in', 'every', 'cron', 'rrule', 'any', 'all'] as const;
/** Most fire times one schedule.preview may ask for. */
export const MAX_PREVIEW = 1000;

/**
 * Validates and compiles a submit's schedule at `now`. Refused with INVALID_SCHEDULE naming the
 * field: anything malformed, unknown fields, and a schedule with no fire time at or after `now`
 * (except a one-shot `at` in the past, which is due now).
 */
export function compileSchedule(input: unknown, now: number): CompiledSchedule {
  if (input === undefined) return { spec: { at: formatInstant(now) }, recurring: false, trigger: new AtTrigger(now), first: now, adaptive: null };
  const ctx: CompileContext = { now, path: 'schedule' };
  const part = compilePart(input, ctx);
  const spec = part.spec as NormalizedSchedule;
  const first = 'at' in spec ? Math.max(Date.parse(spec.at), now) : part.trigger.next(now - 1);
  if (first === null) throw invalidSchedule(noFireField(spec, now), 'the schedule has no future fire time');
  const adaptive = (part as { adaptive?: AdaptiveInterval | null }).adaptive ?? null;
  return { spec, recurring: isRecurring(spec), trigger: part.trigger, first, adaptive };
}

/**
 * Rebuilds a stored schedule (a NormalizedSchedule, as `compileSchedule` returned it) after a
 * restart, without requiring a future fire time: the task's record decides what is still due.
 */
export function restoreSchedule(spec: unknown): { recurring: boolean; trigger: Trigger; adaptive: AdaptiveInterval | null } {
  const part = compilePart(spec, { now: null, path: 'schedule' });
  const adaptive = (part as { adaptive?: AdaptiveInterval | null }).adaptive ?? null;
  return { recurring: isRecurring(part.spec as NormalizedSchedule), trigger: part.trigger, adaptive };
}

/**
 * schedule.preview (SPEC §6): the first `count` fire times strictly after `after` and not before
 * the schedule's start, for a schedule validated as a submit at `now` would be. Fewer when the
 * schedule ends sooner.
 */
export function previewSchedule(input: unknown, count: number, after: number, now: number): number[] {
  parseInteger(count, 'count', 1, MAX_PREVIEW);
  const { trigger } = compileSchedule(input, now);
  const times: number[] = [];
  for (let t: number | null = after; times.length < count; ) {
    t = trigger.next(t);
    if (t === null) break;
    times.push(t);
  }
  return times;
}

function compilePart(input: unknown, ctx: CompileContext): CompiledPart<object> & { adaptive?: AdaptiveInterval | null } {
  if (!isPlainObject(input)) {
    throw invalidSchedule(ctx.path, 'must be an object such as { "at": "2026-12-01T09:00:00Z" }, { "in": "10m" }, { "every": "15m" }, { "cron": "0 9 * * 1-5" } or { "rrule": "FREQ=DAILY" }');
  }
  const kinds = KINDS.filter((k) => k in input);
  if (kinds.length !== 1) {
    const found = kinds.length === 0 ? `none of them (got ${Object.keys(input).map((k) => JSON.stringify(k)).join(', ') || 'no field'})` : kinds.join(' and ');
    throw invalidSchedule(ctx.path, `needs exactly one of ${KINDS.join(', ')}; found ${found}`);
  }
  switch (kinds[0]!) {
    case 'at':
    case 'in':
      return compileAt(input, ctx);
    case 'every': {
      const every = compileEvery(input, ctx);
      if (every.adaptive !== null && ctx.path !== 'schedule') {
        throw invalidSchedule(`${ctx.path}.minEvery`, 'an adaptive interval applies to a whole schedule, not to a part of any or all');
      }
      return every;
    }
    case 'cron':
      return compileCron(input, ctx);
    case 'rrule':
      return compileRRule(input, ctx);
    case 'any':
      return compileAny(input, ctx, compilePart);
    case 'all':
      return compileAll(input, ctx, compilePart);
  }
}

function isRecurring(spec: NormalizedSchedule): boolean {
  if ('any' in spec) return spec.any.some(isRecurring);
  if ('all' in spec) return spec.all.every(isRecurring);
  return !('at' in spec);
}

/**
 * The field to blame when nothing fires: the end, or else the count, when the schedule would fire
 * without it (`end` in the past, or before the first fire; `count` used up since a past start);
 * otherwise the form itself (`0 0 31 2 *`, an `all` whose parts never meet).
 */
function noFireField(spec: NormalizedSchedule, now: number): string {
  for (const bound of ['end', 'count'] as const) {
    if (!(bound in spec)) continue;
    const { [bound]: _, ...unbounded } = spec as Record<string, unknown>;
    if (compilePart(unbounded, { now, path: 'schedule' }).trigger.next(now - 1) !== null) return `schedule.${bound}`;
  }
  return `schedule.${KINDS.find((k) => k in spec)!}`;
}
