import { DAY, HOUR, SECOND } from '../duration.js';
import { FIRST_INSTANT, LAST_INSTANT, floorTo } from './civil.js';
import { type CronExpression, CronSyntaxError, firstMatch, parseCron } from './cron-expression.js';
import { type BoundsSpec, type CompileContext, type CompiledPart, checkKeys, invalidSchedule, parseBounds, parseZone } from './schedule-fields.js';
import { BoundedTrigger, type Trigger } from './trigger.js';
import type { Zone } from './zone.js';

export interface CronSpec extends BoundsSpec {
  cron: string;
  tz: string;
}

/** The Gregorian calendar repeats every 400 years: no match within one cycle means no match ever. */
export const GREGORIAN_CYCLE = 146_097 * DAY;
/** Further than any fall-back shift: the window in which a repeated hour can still replay. */
const FOLD_REACH = 26 * HOUR;

/**
 * A cron expression in a time zone (SPEC §4). Matching happens in wall time; each matching wall
 * time W becomes instants by the zone:
 * - W exists once: that instant;
 * - W is in a spring-forward gap: the transition instant, the first one after the gap (so every
 *   match inside one gap fires once, there);
 * - W happens twice (fall back): its first occurrence; and also its second when the hour field is
 *   `*` or `*∕n`, since such a schedule follows real time rather than naming hours.
 *
 * Mapping each W to its first instant is non-decreasing in W, so the next fire after `after` is
 * the first match whose first instant is later — except the second passes of a repeated hour,
 * which replay wall times already passed and are looked for separately near `after`.
 */
export class CronTrigger implements Trigger {
  readonly #e: CronExpression;
  readonly #zone: Zone;

  constructor(expression: CronExpression, zone: Zone) {
    this.#e = expression;
    this.#zone = zone;
  }

  next(after: number): number | null {
    // NaN or past the last instant has no next; the search below must stay within Date's range.
    if (!(after < LAST_INSTANT)) return null;
    const a = Math.max(after, FIRST_INSTANT - 1);
    const firstPass = this.#nextFirstPass(a);
    const secondPass = this.#e.followsRealTime ? this.#nextSecondPass(a) : null;
    const next = firstPass === null ? secondPass : secondPass === null ? firstPass : Math.min(firstPass, secondPass);
    return next !== null && next <= LAST_INSTANT ? next : null;
  }

  #nextFirstPass(after: number): number | null {
    // Every wall time up to wall(after) maps to an instant at or before `after`.
    let from = floorTo(after + this.#zone.offset(after), SECOND) + SECOND;
    const limit = from + GREGORIAN_CYCLE;
    for (;;) {
      const wall = firstMatch(this.#e, from, limit);
      if (wall === null) return null;
      const r = this.#zone.resolve(wall);
      if (r.kind === 'single') return r.at;
      if (r.kind === 'gap') return r.transition.at;
      if (r.first > after) return r.first;
      // `after` is in the second pass of this repeated hour: skip the wall times already fired.
      from = r.transition.at + r.transition.before;
    }
  }

  #nextSecondPass(after: number): number | null {
    let best: number | null = null;
    for (const tr of this.#zone.transitions(after - FOLD_REACH, after + FOLD_REACH)) {
      if (tr.after >= tr.before) continue;
      // Repeated wall times are [at + after, at + before); their second instants are wall − after.
      const from = Math.max(tr.at + tr.after, floorTo(after + tr.after, SECOND) + SECOND);
      const wall = firstMatch(this.#e, from, tr.at + tr.before);
      if (wall !== null && (best === null || wall - tr.after < best)) best = wall - tr.after;
    }
    return best;
  }
}

/** `{ cron, tz?, start?, end?, count? }`; a count without a start counts from the submit time. */
export function compileCron(node: Record<string, unknown>, ctx: CompileContext): CompiledPart<CronSpec> {
  checkKeys(node, ['cron', 'tz', 'start', 'end', 'count'], ctx.path, 'cron');
  const field = `${ctx.path}.cron`;
  if (typeof node.cron !== 'string' || node.cron.length > 256) {
    throw invalidSchedule(field, 'must be a cron expression string like "*/5 * * * *" (at most 256 characters)');
  }
  const text = node.cron.trim();
  let expression: CronExpression;
  try {
    expression = parseCron(text);
  } catch (err) {
    if (!(err instanceof CronSyntaxError)) throw err;
    throw invalidSchedule(field, `${JSON.stringify(text)}: ${err.message}`);
  }
  const zone = parseZone(node.tz, `${ctx.path}.tz`);
  const { bounds, spec } = parseBounds(node, ctx, 'with-count');
  return {
    spec: { cron: text, tz: zone.name, ...spec },
    trigger: new BoundedTrigger(new CronTrigger(expression, zone), bounds),
  };
}
