import { DAY } from '../duration.js';
import { LAST_INSTANT } from './civil.js';
import { type BoundsSpec, type CompileContext, type CompiledPart, checkKeys, invalidSchedule, parseBounds, parseScheduleDuration } from './schedule-fields.js';
import type { Bounds, Trigger } from './trigger.js';

/** Stored form: durations as given (ms or a string like "15m"); start always present. */
export interface EverySpec extends BoundsSpec {
  every: number | string;
  start: string;
  minEvery?: number | string;
  maxEvery?: number | string;
  backoff?: number;
}

/** An adaptive interval's limits, in ms (SPEC §4). */
export interface AdaptiveInterval {
  every: number;
  minEvery: number;
  maxEvery: number;
  backoff: number;
}

/** Longest interval: about a century, past any useful schedule. */
const MAX_EVERY = 36_500 * DAY;
const ADAPTIVE_KEYS = ['minEvery', 'maxEvery', 'backoff'] as const;
const EVERY_KEYS = ['every', 'start', 'end', 'count', ...ADAPTIVE_KEYS] as const;

/** Fires at start + k × interval for k = 0, 1, …: plain arithmetic, count included. */
export class EveryTrigger implements Trigger {
  readonly #interval: number;
  readonly #start: number;
  readonly #bounds: Bounds;

  constructor(interval: number, start: number, bounds: Bounds) {
    this.#interval = interval;
    this.#start = start;
    this.#bounds = bounds;
  }

  next(after: number): number | null {
    const k = after < this.#start ? 0 : Math.floor((after - this.#start) / this.#interval) + 1;
    if (this.#bounds.count !== undefined && k >= this.#bounds.count) return null;
    const t = this.#start + k * this.#interval;
    return t <= (this.#bounds.end ?? LAST_INSTANT) ? t : null;
  }
}

/** The next adaptive interval: stretched by `backoff` after an uneventful run, shrunk after an eventful one. */
export function adaptInterval(current: number, eventful: boolean, a: AdaptiveInterval): number {
  return eventful ? Math.max(a.minEvery, Math.round(current / a.backoff)) : Math.min(a.maxEvery, Math.round(current * a.backoff));
}

/**
 * `{ every, start?, end?, count?, minEvery?, maxEvery?, backoff? }`. Start defaults to the submit
 * time, which is the first fire. The adaptive fields come all three or none, with
 * minEvery ≤ every ≤ maxEvery and 1 < backoff ≤ 100; the trigger itself fires at `every`.
 */
export function compileEvery(node: Record<string, unknown>, ctx: CompileContext): CompiledPart<EverySpec> & { adaptive: AdaptiveInterval | null } {
  checkKeys(node, EVERY_KEYS, ctx.path, 'every');
  const every = parseScheduleDuration(node.every, `${ctx.path}.every`, { min: 1, max: MAX_EVERY });
  const { bounds, spec: boundsSpec } = parseBounds(node, ctx, 'now');
  const start = bounds.start!;
  const spec: EverySpec = { every: node.every as number | string, ...boundsSpec, start: boundsSpec.start! };
  let adaptive: AdaptiveInterval | null = null;
  if (ADAPTIVE_KEYS.some((k) => node[k] !== undefined)) {
    const missing = ADAPTIVE_KEYS.find((k) => node[k] === undefined);
    if (missing !== undefined) throw invalidSchedule(`${ctx.path}.${missing}`, 'an adaptive interval needs minEvery, maxEvery and backoff together');
    const minEvery = parseScheduleDuration(node.minEvery, `${ctx.path}.minEvery`, { min: 1, max: every });
    const maxEvery = parseScheduleDuration(node.maxEvery, `${ctx.path}.maxEvery`, { min: every, max: MAX_EVERY });
    const backoff = node.backoff;
    if (typeof backoff !== 'number' || !Number.isFinite(backoff) || backoff <= 1 || backoff > 100) {
      throw invalidSchedule(`${ctx.path}.backoff`, 'must be a number above 1 and at most 100: the factor the interval stretches or shrinks by');
    }
    Object.assign(spec, { minEvery: node.minEvery, maxEvery: node.maxEvery, backoff });
    adaptive = { every, minEvery, maxEvery, backoff };
  }
  return { spec, trigger: new EveryTrigger(every, start, bounds), adaptive };
}
