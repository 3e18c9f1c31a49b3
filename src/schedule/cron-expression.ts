import { daysInMonth, secondOfDay, wallOf, weekdayOf } from './civil.js';

/**
 * A cron expression parsed into the sets it matches, and the search for its next match in wall
 * time. Time zones are not this file's business (see cron.ts).
 *
 * Syntax, per field: `*`, numbers, ranges `a-b`, steps `*∕n`, `a-b∕n`, `a∕n`, lists `x,y`, and
 * names (JAN–DEC, SUN–SAT, any case). Day of month also takes `L` (its last day) and `?`; day of
 * week takes 0–7 (0 and 7 are Sunday), `nL` (the month's last weekday n), `n#k` (its k-th weekday
 * n) and `?`. When both day fields are restricted (neither `*` nor `?`) a day matches if either
 * does, as in Vixie cron; otherwise both must. Macros: @yearly, @annually, @monthly, @weekly,
 * @daily, @midnight, @hourly.
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
  /** The hour field is `*` or `*∕n`: the schedule follows real time through a repeated hour. */
  readonly followsRealTime: boolean;
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};
const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldRule {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** Value of the first name. */
  nameBase?: number;
}
const SECOND_F: FieldRule = { name: 'second', min: 0, max: 59 };
const MINUTE_F: FieldRule = { name: 'minute', min: 0, max: 59 };
const HOUR_F: FieldRule = { name: 'hour', min: 0, max: 23 };
const DOM_F: FieldRule = { name: 'day-of-month', min: 1, max: 31 };
const MONTH_F: FieldRule = { name: 'month', min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 };
const DOW_F: FieldRule = { name: 'day-of-week', min: 0, max: 7, names: DAY_NAMES, nameBase: 0 };

export function parseCron(text: string): CronExpression {
  const trimmed = text.trim();
  const expanded = MACROS[trimmed.toLowerCase()] ?? trimmed;
  const fields = expanded.split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw new CronSyntaxError(`has ${fields.length} field${fields.length === 1 ? '' : 's'}; use 5 (minute hour day-of-month month day-of-week) or 6 (second first)`);
  }
  const [sec, min, hour, dom, month, dow] = fields.length === 6 ? fields as [string, string, string, string, string, string] : ['0', ...fields] as [string, string, string, string, string, string];

  const monthDays = new Array<boolean>(32).fill(false);
  let lastMonthDay = false;
  const domRestricted = !isWildcard(dom);
  for (const item of items(dom, DOM_F)) {
    if (item === 'L') lastMonthDay = true;
    else if (item !== '?') for (const v of values(item, DOM_F)) monthDays[v] = true;
  }

  const weekdays = new Array<boolean>(7).fill(false);
  const lastWeekdays = new Array<boolean>(7).fill(false);
  const nthWeekdays = new Set<number>();
  const dowRestricted = !isWildcard(dow);
  for (const item of items(dow, DOW_F)) {
    const last = /^(\w+)L$/i.exec(item);
    const nth = /^(\w+)#(\d+)$/.exec(item);
    if (last) lastWeekdays[number(last[1]!, DOW_F) % 7] = true;
    else if (nth) {
      const k = Number(nth[2]);
      if (k < 1 || k > 5) throw new CronSyntaxError(`day-of-week field: "${item}" asks for occurrence ${nth[2]} of a weekday; use 1 to 5`);
      nthWeekdays.add((number(nth[1]!, DOW_F) % 7) * 8 + k);
    } else if (item !== '?') for (const v of values(item, DOW_F)) weekdays[v % 7] = true;
  }

  const months = new Array<boolean>(13).fill(false);
  for (const item of items(month, MONTH_F)) for (const v of values(item, MONTH_F)) months[v] = true;

  return {
    seconds: sortedValues(sec, SECOND_F),
    minutes: sortedValues(min, MINUTE_F),
    hours: sortedValues(hour, HOUR_F),
    months,
    monthDays: domRestricted ? monthDays : monthDays.fill(true, 1),
    lastMonthDay,
    weekdays: dowRestricted ? weekdays : weekdays.fill(true),
    lastWeekdays,
    nthWeekdays,
    eitherDay: domRestricted && dowRestricted,
    followsRealTime: /^\*(\/\d+)?$/.test(hour),
  };
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

function isWildcard(field: string): boolean {
  return field === '*' || field === '?';
}

function items(field: string, rule: FieldRule): string[] {
  const parts = field.split(',');
  if (parts.some((p) => p === '')) throw new CronSyntaxError(`${rule.name} field "${field}" has an empty list item`);
  return parts.map((p) => p.toUpperCase());
}

function sortedValues(field: string, rule: FieldRule): number[] {
  const set = new Set<number>();
  for (const item of items(field, rule)) for (const v of values(item, rule)) set.add(v);
  return [...set].sort((a, b) => a - b);
}

/** The values of one list item: `*`, `n`, `a-b`, each with an optional `/step`. */
function values(item: string, rule: FieldRule): number[] {
  const m = /^([^/]+)(?:\/(\d+))?$/.exec(item);
  if (!m) throw new CronSyntaxError(`${rule.name} field: "${item}" is not a value, range or step`);
  const [, base, stepText] = m as unknown as [string, string, string | undefined];
  let lo: number;
  let hi: number;
  if (base === '*') [lo, hi] = [rule.min, rule.max];
  else if (base.includes('-')) {
    const [a, b, ...rest] = base.split('-');
    if (rest.length > 0 || a === undefined || b === undefined) throw new CronSyntaxError(`${rule.name} field: "${item}" is not a range`);
    [lo, hi] = [number(a, rule), number(b, rule)];
    if (lo > hi) throw new CronSyntaxError(`${rule.name} field: range "${base}" runs backwards; write it low-high`);
  } else {
    lo = number(base, rule);
    hi = stepText === undefined ? lo : rule.max;
  }
  const step = stepText === undefined ? 1 : Number(stepText);
  if (!Number.isSafeInteger(step) || step < 1) throw new CronSyntaxError(`${rule.name} field: step "/${stepText ?? ''}" must be a whole number of at least 1`);
  const out: number[] = [];
  for (let v = lo; v <= hi; v += step) out.push(v);
  return out;
}

function number(text: string, rule: FieldRule): number {
  const named = rule.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) return named + rule.nameBase!;
  if (!/^\d{1,2}$/.test(text)) throw new CronSyntaxError(`${rule.name} field: "${text}" is not a number${rule.names ? ' or a name' : ''}`);
  const v = Number(text);
  if (v < rule.min || v > rule.max) throw new CronSyntaxError(`${rule.name} field: ${v} is out of range ${rule.min}-${rule.max}`);
  return v;
}
