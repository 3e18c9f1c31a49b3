import { HOUR, SECOND } from '../duration.js';
import { LAST_INSTANT, floorTo } from './civil.js';
import { GREGORIAN_CYCLE } from './cron.js';
import { RRuleExpander, withStartDefaults } from './rrule-expand.js';
import { FREQUENCIES, type RecurrenceRule, RRuleSyntaxError, formatRRule, parseRRule } from './rrule-parse.js';
import { type CompileContext, type CompiledPart, MAX_COUNT, checkKeys, formatInstant, invalidSchedule, parseCount, parseInstant, parseZone } from './schedule-fields.js';
import type { Trigger } from './trigger.js';
import type { Zone } from './zone.js';

export interface RRuleSpec {
  rrule: string;
  tz: string;
  start: string;
  count?: number;
}

/** Transitions this close to an instant can change which wall times map before or after it. */
const NEAR = 26 * HOUR;

/**
 * An RRULE in a zone. Occurrences are generated in wall time from the start's wall time (its
 * DTSTART) and become instants as RFC 5545 §3.3.5 says: a wall time in a gap takes the offset from
 * before the gap (New York's 02:30 on spring-forward day is 03:30 EDT), a repeated one its first
 * occurrence. That mapping is not monotonic around a gap (02:30 lands after 03:00), so `next`
 * keeps looking at later wall times until none can map before the best instant found.
 *
 * COUNT counts wall-time occurrences from the start, as the RFC does (so two occurrences that
 * share an instant in a gap count twice).
 */
export class RRuleTrigger implements Trigger {
  readonly #zone: Zone;
  readonly #start: number;
  readonly #expander: RRuleExpander;
  readonly #count: number | null;
  readonly #untilWall: number;
  readonly #untilInstant: number;
  #cursor: { wall: number; index: number } | null = null;

  constructor(rule: RecurrenceRule, zone: Zone, start: number, count: number | null) {
    this.#zone = zone;
    // DTSTART has whole seconds and counts as the first occurrence: a start with milliseconds
    // (a submit time) begins at the next whole second, so that COUNT never counts an occurrence
    // that fell before the start and could not fire.
    this.#start = Math.ceil(start / SECOND) * SECOND;
    const startWall = floorTo(this.#start + zone.offset(this.#start), SECOND);
    this.#expander = new RRuleExpander(withStartDefaults(rule, startWall), startWall);
    this.#count = count;
    this.#untilWall = rule.until !== null && !rule.until.utc ? rule.until.value : Infinity;
    this.#untilInstant = rule.until?.utc ? rule.until.value : LAST_INSTANT;
  }

  next(after: number): number | null {
    // NaN or past the last instant has no next; the search below must stay within Date's range.
    if (!(after < LAST_INSTANT)) return null;
    const a = Math.max(after, this.#start - 1);
    let from = floorTo(a + this.#offsetsNear(a).min, SECOND) + SECOND;
    const limit = Math.min(from + GREGORIAN_CYCLE, this.#untilWall + 1);
    let best: number | null = null;
    let bestReach = 0;
    for (;;) {
      const wall = this.#expander.first(from, limit);
      if (wall === null || !this.#withinCount(wall)) break;
      const t = this.#instant(wall);
      if (t > a && (best === null || t < best)) {
        best = t;
        bestReach = best + this.#offsetsNear(best).max;
      }
      // Wall time w maps no earlier than w − (largest offset around): nothing later can beat `best`.
      if (best !== null && wall + SECOND >= bestReach) break;
      from = wall + SECOND;
    }
    return best !== null && best <= this.#untilInstant ? best : null;
  }

  #instant(wall: number): number {
    const r = this.#zone.resolve(wall);
    if (r.kind === 'single') return r.at;
    if (r.kind === 'fold') return r.first;
    return wall - r.transition.before;
  }

  #offsetsNear(t: number): { min: number; max: number } {
    const offsets = [this.#zone.offset(t - NEAR), ...this.#zone.transitions(t - NEAR, t + NEAR).map((tr) => tr.after)];
    return { min: Math.min(...offsets), max: Math.max(...offsets) };
  }

  /** Whether fewer than COUNT occurrences precede this one; stepped from a cursor as in BoundedTrigger. */
  #withinCount(wall: number): boolean {
    const count = this.#count;
    if (count === null) return true;
    let c = this.#cursor;
    if (c === null || c.wall > wall) {
      const first = this.#expander.first(-Infinity, Infinity);
      if (first === null) return false;
      c = { wall: first, index: 0 };
    }
    while (c.wall < wall && c.index < count) {
      const next = this.#expander.first(c.wall + SECOND, c.wall + GREGORIAN_CYCLE);
      if (next === null) break;
      c = { wall: next, index: c.index + 1 };
    }
    this.#cursor = c;
    return c.wall === wall && c.index < count;
  }
}

/**
 * `{ rrule, tz?, start?, count? }`. `count` is the rule's COUNT given separately (not both).
 * Without a start the rule starts at the submit time, and the time-of-day parts it leaves out are
 * 0 rather than the submit time's (FREQ=DAILY;BYHOUR=9 fires at 09:00:00, not at 09:mm:ss of
 * whenever it was submitted); the stored rule spells them out.
 */
export function compileRRule(node: Record<string, unknown>, ctx: CompileContext): CompiledPart<RRuleSpec> {
  checkKeys(node, ['rrule', 'tz', 'start', 'count'], ctx.path, 'rrule');
  const field = `${ctx.path}.rrule`;
  if (typeof node.rrule !== 'string' || node.rrule.length > 1024) {
    throw invalidSchedule(field, 'must be an RFC 5545 recurrence rule string like "FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9" (at most 1024 characters)');
  }
  let rule: RecurrenceRule;
  try {
    rule = parseRRule(node.rrule, MAX_COUNT);
  } catch (err) {
    if (!(err instanceof RRuleSyntaxError)) throw err;
    throw invalidSchedule(field, `${JSON.stringify(node.rrule.trim())}: ${err.message}`);
  }
  const zone = parseZone(node.tz, `${ctx.path}.tz`);
  let count = rule.count;
  if (node.count !== undefined) {
    if (count !== null) throw invalidSchedule(`${ctx.path}.count`, 'the rule already has a COUNT; give it once');
    count = parseCount(node.count, `${ctx.path}.count`);
  }
  let start: number;
  if (node.start !== undefined) start = parseInstant(node.start, `${ctx.path}.start`);
  else if (ctx.now === null) throw invalidSchedule(`${ctx.path}.start`, 'a stored schedule must have its start');
  else {
    start = ctx.now;
    const rank = FREQUENCIES.indexOf(rule.freq);
    if (rank > FREQUENCIES.indexOf('HOURLY')) rule.byHour ??= [0];
    if (rank > FREQUENCIES.indexOf('MINUTELY')) rule.byMinute ??= [0];
    if (rank > FREQUENCIES.indexOf('SECONDLY')) rule.bySecond ??= [0];
  }
  const spec: RRuleSpec = { rrule: formatRRule(rule), tz: zone.name, start: formatInstant(start) };
  if (node.count !== undefined) spec.count = count!;
  return { spec, trigger: new RRuleTrigger(rule, zone, start, count) };
}
