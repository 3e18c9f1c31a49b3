import { CronExpressionParser, type CronFieldCollection } from 'cron-parser';
import { daysInMonth, secondOfDay, wallOf, weekdayOf } from './civil.js';

/**
 * A cron expression parsed into the sets it matches, and the search for its next match in wall
 * time. Time zones are not this file's business (see cron.ts).
 *
 * The syntax is cron-parser 5's (README "cron"), which reads and validates each field: `*`, `?`,
 * numbers, ranges `a-b`, steps `*∕n`, `a-b∕n`, `a∕n`, lists `x,y`, names (JAN–DEC, SUN–SAT, any
 * case); day of month also takes `L` (its last day); day of week takes 0–7 (0 and 7 are Sunday),
 * `nL` (the month's last weekday n) and `n#k` (its k-th weekday n). cron-parser refuses a list
 * that names a value twice (`0,7`, `1-5,3`) and an `n#k` inside a list, where Vixie cron and our
 * earlier parser took them. Around it we keep our own rules: exactly 5 or 6 fields, the macros
 * (any case), no `H`, and the field named in every refusal. When both day fields are restricted (neither `*` nor `?`) a day matches if either
 * does, as in Vixie cron; otherwise both must. Only the parse is cron-parser's: its own iteration
 * breaks SPEC §4 across daylight-saving changes (README "Why our own schedule search"), so the
 * search below and cron.ts's are ours.
 */

/** A refusal, with the cron field at fault in the message. */
export class CronSyntaxError extends Error {}

export interface CronExpression {
  /** Sorted. A 5-field expression has seconds [0]. */
  readonly seconds: readonly number[];
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  /** Index 1..12. */
  readonly months: readonly boolean[];
  /** Index 1..31. */
  readonly monthDays: readonly boolean[];
  readonly lastMonthDay: boolean;
  /** Index 0..6. */
  readonly weekdays: readonly boolean[];
  /** Weekdays n of `nL`. */
  readonly lastWeekdays: readonly boolean[];
  /** `n#k` as n * 8 + k. */
  readonly nthWeekdays: ReadonlySet<number>;
  /** Both day fields restricted: a day matches when either matches. */
  readonly eitherDay: boolean;
  /** The hour field is `*` or `*∕n` (or `?`, `?∕n`): the schedule follows real time through a repeated hour. */
  readonly followsRealTime: boolean;
}

/**
 * Vixie cron's macros and cron-parser's, read in any case. Each expands to fields, so the field
 * rules (the hour field's `*` for followsRealTime) apply to it as written here.
 */
const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
  '@minutely': '* * * * *', '@secondly': '* * * * * *', '@weekdays': '0 0 * * 1-5', '@weekends': '0 0 * * 0,6',
};
const FIELD_NAMES = ['second', 'minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;
/** What each field takes besides `*`, `?`, ranges, steps and lists, for the refusal messages. */
const FIELD_VALUES = ['0-59', '0-59', '0-23', '1-31 or L', '1-12 or JAN-DEC', '0-7 (0 and 7 are Sunday), SUN-SAT, nL, or one n#k alone'] as const;
const MONTH = 4;
const DAY_OF_WEEK = 5;

export function parseCron(text: string): CronExpression {
  const trimmed = text.trim();
  const macro = trimmed.startsWith('@') ? MACROS[trimmed.toLowerCase()] : undefined;
  if (trimmed.startsWith('@') && macro === undefined) {
    throw new CronSyntaxError(`is not a known macro; use one of ${Object.keys(MACROS).join(', ')}, or fields`);
  }
  const given = (macro ?? trimmed).split(/\s+/);
  if (given.length !== 5 && given.length !== 6) {
    throw new CronSyntaxError(`has ${given.length} field${given.length === 1 ? '' : 's'}; use 5 (minute hour day-of-month month day-of-week) or 6 (second first)`);
  }
  const fields = given.length === 6 ? given : ['0', ...given];
  fields.forEach(refuseHashed);
  const f = parseFields(fields);

  const monthDays = new Array<boolean>(32).fill(false);
  let lastMonthDay = false;
  for (const v of f.dayOfMonth.values as readonly (number | string)[]) {
    if (v === 'L') lastMonthDay = true;
    else monthDays[Number(v)] = true;
  }

  const weekdays = new Array<boolean>(7).fill(false);
  const lastWeekdays = new Array<boolean>(7).fill(false);
  const nthWeekdays = new Set<number>();
  const nth = f.dayOfWeek.nthDay;
  for (const v of f.dayOfWeek.values as readonly (number | string)[]) {
    // `nL` comes as the string "nL" (n from 0 to 7); numbers are 0..7.
    if (typeof v === 'string') lastWeekdays[Number.parseInt(v, 10) % 7] = true;
    else if (nth > 0) nthWeekdays.add((v % 7) * 8 + nth);
    else weekdays[v % 7] = true;
  }

  const months = new Array<boolean>(13).fill(false);
  for (const v of f.month.values) months[v] = true;

  const domRestricted = !f.dayOfMonth.isWildcard;
  const dowRestricted = !f.dayOfWeek.isWildcard;
  return {
    seconds: [...f.second.values],
    minutes: [...f.minute.values],
    hours: [...f.hour.values],
    months,
    monthDays: domRestricted ? monthDays : monthDays.fill(true, 1),
    lastMonthDay,
    weekdays: dowRestricted ? weekdays : weekdays.fill(true),
    lastWeekdays,
    nthWeekdays,
    eitherDay: domRestricted && dowRestricted,
    followsRealTime: /^[*?](\/\d+)?$/.test(fields[2]!),
  };
}

/**
 * cron-parser's reading of six fields. Its messages do not always say which field is at fault, so
 * on a refusal each field is parsed alone (the others `*`) to name it.
 */
function parseFields(fields: readonly string[]): CronFieldCollection {
  try {
    return CronExpressionParser.parse(fields.join(' ')).fields;
  } catch (err) {
    for (let i = 0; i < fields.length; i++) {
      const alone = fields.map((v, j) => (j === i ? v : '*')).join(' ');
      try {
        CronExpressionParser.parse(alone);
      } catch (fieldErr) {
        throw new CronSyntaxError(`${FIELD_NAMES[i]} field "${fields[i]}": ${messageOf(fieldErr)}; the ${FIELD_NAMES[i]} field takes ${FIELD_VALUES[i]}, *, ?, ranges a-b, steps */n, a/n, a-b/n, and lists x,y whose items do not overlap`);
      }
    }
    // Each field parses alone: cron-parser's one check across fields (outside its strict mode)
    // refuses a day of month that none of the months has while the day of week is `*`.
    throw new CronSyntaxError(`${messageOf(err)}: the day-of-month field "${fields[3]}" names no day the month field "${fields[4]}" has (like 30 February), so it never fires`);
  }
}

/**
 * cron-parser reads `H` as a random value (Jenkins' hashed cron), drawn again at each parse: a
 * stored schedule would fire at other times after a restart. Names are stripped first (THU).
 */
function refuseHashed(field: string, i: number): void {
  const bare = i === MONTH || i === DAY_OF_WEEK ? field.replace(/[a-z]{3}/gi, '') : field;
  if (bare.includes('H')) {
    throw new CronSyntaxError(`${FIELD_NAMES[i]} field "${field}": H (a random value) is not supported, since it would change at every restart; write the value`);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Whether a day's date matches the day-of-month, month and day-of-week fields. */
export function dayMatches(e: CronExpression, y: number, m: number, d: number): boolean {
  if (!e.months[m]) return false;
  const dim = daysInMonth(y, m);
  const byMonthDay = e.monthDays[d]! || (e.lastMonthDay && d === dim);
  if (!e.eitherDay && !byMonthDay) return false;
  if (e.eitherDay && byMonthDay) return true;
  const wd = weekdayOf(y, m, d);
  return e.weekdays[wd]! || (e.lastWeekdays[wd]! && d + 7 > dim) || e.nthWeekdays.has(wd * 8 + Math.ceil(d / 7));
}

/** Whether a wall date and time matches (used by tests as the plain definition of a match). */
export function matches(e: CronExpression, y: number, m: number, d: number, h: number, mi: number, s: number): boolean {
  return dayMatches(e, y, m, d) && e.hours.includes(h) && e.minutes.includes(mi) && e.seconds.includes(s);
}

/**
 * The first matching wall time at or after `from` (rounded up to a whole second) and before
 * `limit`, or null. Skips months and days that cannot match, so a search over the 400-year
 * Gregorian cycle costs at most ~146,000 cheap day checks.
 */
export function firstMatch(e: CronExpression, from: number, limit: number): number | null {
  const start = new Date(Math.ceil(from / 1000) * 1000);
  let y = start.getUTCFullYear();
  let m = start.getUTCMonth() + 1;
  let d = start.getUTCDate();
  let tod = secondOfDay(start.getUTCHours(), start.getUTCMinutes(), start.getUTCSeconds());
  for (;;) {
    const dayStart = wallOf(y, m, d);
    if (dayStart >= limit) return null;
    if (!e.months[m]) {
      [y, m, d, tod] = m === 12 ? [y + 1, 1, 1, 0] : [y, m + 1, 1, 0];
      continue;
    }
    if (dayMatches(e, y, m, d)) {
      const t = firstTimeOfDay(e, tod);
      if (t !== null) {
        const wall = dayStart + t * 1000;
        return wall < limit ? wall : null;
      }
    }
    tod = 0;
    if (d < daysInMonth(y, m)) d++;
    else [y, m, d] = m === 12 ? [y + 1, 1, 1] : [y, m + 1, 1];
  }
}

/** The first matching second of the day at or after `tod` (seconds since midnight), or null. */
function firstTimeOfDay(e: CronExpression, tod: number): number | null {
  const h0 = Math.floor(tod / 3600);
  const m0 = Math.floor(tod / 60) % 60;
  const s0 = tod % 60;
  for (const h of e.hours) {
    if (h < h0) continue;
    for (const mi of e.minutes) {
      if (h === h0 && mi < m0) continue;
      const sMin = h === h0 && mi === m0 ? s0 : 0;
      const s = e.seconds.find((v) => v >= sMin);
      if (s !== undefined) return secondOfDay(h, mi, s);
    }
  }
  return null;
}
