import { DAY, HOUR, MINUTE, SECOND } from '../duration.js';
import { type Civil, civilOf, dayNumber, dayOfYear, daysInMonth, daysInYear, floorTo, wallOf, weekdayOf } from './civil.js';
import { FREQUENCIES, type Frequency, type RecurrenceRule } from './rrule-parse.js';

/**
 * The occurrences of a recurrence rule in wall time ("floating" time, no zone), as RFC 5545 and
 * python-dateutil define them: the rule's periods (years, months, weeks, days, hours, minutes or
 * seconds, every INTERVAL-th from the start's period) each contribute the days that pass every BY
 * filter, at the times of day BYHOUR × BYMINUTE × BYSECOND, narrowed by BYSETPOS; occurrences
 * before the start are dropped. The search jumps straight to the period of interest, so asking
 * for the next occurrence years after the start costs no more than asking near it.
 */

/**
 * Work (periods, days and times examined) one search may do before it gives up: a rule that never
 * matches (FREQ=MINUTELY;INTERVAL=2;BYMINUTE=1 from an even minute) costs about 0.4 s to refuse.
 */
export const MAX_SEARCH_WORK = 500_000;

const SUB_DAILY: readonly Frequency[] = ['HOURLY', 'MINUTELY', 'SECONDLY'];
const UNIT_MS: Partial<Record<Frequency, number>> = { DAILY: DAY, HOURLY: HOUR, MINUTELY: MINUTE, SECONDLY: SECOND };

/**
 * The BY parts the rule leaves out that the start supplies (dateutil's rules): the day of month
 * (and month) for YEARLY and MONTHLY, the weekday for WEEKLY, and the time-of-day fields coarser
 * than the frequency.
 */
export function withStartDefaults(rule: RecurrenceRule, start: number): RecurrenceRule {
  const c = civilOf(start);
  const r = { ...rule };
  if (r.byWeekNo === null && r.byYearDay === null && r.byMonthDay === null && r.byDay === null) {
    if (r.freq === 'YEARLY') {
      r.byMonth ??= [c.month];
      r.byMonthDay = [c.day];
    } else if (r.freq === 'MONTHLY') r.byMonthDay = [c.day];
    else if (r.freq === 'WEEKLY') r.byDay = [{ weekday: weekdayOf(c.year, c.month, c.day), n: 0 }];
  }
  const rank = FREQUENCIES.indexOf(r.freq);
  if (rank > FREQUENCIES.indexOf('HOURLY')) r.byHour ??= [c.hour];
  if (rank > FREQUENCIES.indexOf('MINUTELY')) r.byMinute ??= [c.minute];
  if (rank > FREQUENCIES.indexOf('SECONDLY')) r.bySecond ??= [c.second];
  return r;
}

export class RRuleExpander {
  readonly #r: RecurrenceRule;
  readonly #start: number;
  /** Wall time of period 0's beginning (for WEEKLY, the WKST day of the start's week). */
  readonly #origin: number;
  readonly #originCivil: Civil;

  /** `rule` must already carry the start's defaults (withStartDefaults); `start` is a whole-second wall time. */
  constructor(rule: RecurrenceRule, start: number) {
    this.#r = rule;
    this.#start = start;
    const c = civilOf(start);
    switch (rule.freq) {
      case 'YEARLY': this.#origin = wallOf(c.year, 1, 1); break;
      case 'MONTHLY': this.#origin = wallOf(c.year, c.month, 1); break;
      case 'WEEKLY': this.#origin = floorTo(start, DAY) - ((weekdayOf(c.year, c.month, c.day) - rule.wkst + 7) % 7) * DAY; break;
      default: this.#origin = floorTo(start, UNIT_MS[rule.freq]!);
    }
    this.#originCivil = civilOf(this.#origin);
  }

  /** The first occurrence at or after `from` (and the start) and before `limit`, or null. */
  first(from: number, limit: number): number | null {
    const lower = Math.max(Math.ceil(from / SECOND) * SECOND, this.#start);
    const step = this.#r.interval;
    let p = Math.max(0, Math.floor(this.#periodOf(lower) / step) * step);
    for (let work = 0; work < MAX_SEARCH_WORK; ) {
      const begin = this.#periodStart(p);
      if (begin >= limit) return null;
      const skipTo = this.#skip(begin);
      if (skipTo !== null) {
        p = Math.ceil(this.#periodOf(skipTo) / step) * step;
        work++;
        continue;
      }
      const candidates = this.#occurrences(p, begin);
      work += Math.ceil((this.#periodStart(p + 1) - begin) / DAY) + candidates.length;
      for (const t of candidates) {
        if (t >= limit) return null;
        if (t >= lower) return t;
      }
      p += step;
    }
    return null;
  }

  /** For sub-daily and daily rules: where the next period that can pass the filters may begin, if this one cannot. */
  #skip(begin: number): number | null {
    const r = this.#r;
    if (!SUB_DAILY.includes(r.freq) && r.freq !== 'DAILY') return null;
    const c = civilOf(begin);
    if (r.byMonth !== null && !r.byMonth.includes(c.month)) return c.month === 12 ? wallOf(c.year + 1, 1, 1) : wallOf(c.year, c.month + 1, 1);
    if (r.freq === 'DAILY') return null;
    if (!this.#dayPasses(c.year, c.month, c.day)) return floorTo(begin, DAY) + DAY;
    if (r.byHour !== null && !r.byHour.includes(c.hour)) return floorTo(begin, HOUR) + HOUR;
    if (r.freq === 'SECONDLY' && r.byMinute !== null && !r.byMinute.includes(c.minute)) return floorTo(begin, MINUTE) + MINUTE;
    return null;
  }

  /** Period p's occurrences, sorted, BYSETPOS applied (the start is not yet applied). */
  #occurrences(p: number, begin: number): number[] {
    const r = this.#r;
    const c = civilOf(begin);
    const days: number[] = [];
    if (SUB_DAILY.includes(r.freq) || r.freq === 'DAILY') {
      if (this.#dayPasses(c.year, c.month, c.day)) days.push(floorTo(begin, DAY));
    } else {
      const end = this.#periodStart(p + 1);
      for (let { year: y, month: m, day: d } = c, wall = begin; wall < end; ) {
        if (r.byMonth !== null && !r.byMonth.includes(m)) {
          // Skip the rest of the month (only YEARLY periods span several).
          wall += (daysInMonth(y, m) - d + 1) * DAY;
          [y, m, d] = m === 12 ? [y + 1, 1, 1] : [y, m + 1, 1];
          continue;
        }
        if (this.#dayPasses(y, m, d)) days.push(wall);
        wall += DAY;
        if (d < daysInMonth(y, m)) d++;
        else [y, m, d] = m === 12 ? [y + 1, 1, 1] : [y, m + 1, 1];
      }
    }
    const hours = SUB_DAILY.includes(r.freq) ? [c.hour].filter((h) => r.byHour?.includes(h) ?? true) : r.byHour!;
    const minutes = r.freq === 'MINUTELY' || r.freq === 'SECONDLY' ? [c.minute].filter((m) => r.byMinute?.includes(m) ?? true) : r.byMinute!;
    const seconds = r.freq === 'SECONDLY' ? [c.second].filter((s) => r.bySecond?.includes(s) ?? true) : r.bySecond!;
    const out: number[] = [];
    for (const day of days) for (const h of hours) for (const m of minutes) for (const s of seconds) out.push(day + h * HOUR + m * MINUTE + s * SECOND);
    if (r.bySetPos === null) return out;
    const picked = r.bySetPos.map((n) => out[n > 0 ? n - 1 : out.length + n]).filter((t): t is number => t !== undefined);
    return [...new Set(picked)].sort((a, b) => a - b);
  }

  #dayPasses(y: number, m: number, d: number): boolean {
    const r = this.#r;
    if (r.byMonth !== null && !r.byMonth.includes(m)) return false;
    if (r.byWeekNo !== null && !this.#weekNoPasses(y, m, d)) return false;
    if (r.byYearDay !== null) {
      const yd = dayOfYear(y, m, d);
      if (!r.byYearDay.includes(yd) && !r.byYearDay.includes(yd - daysInYear(y) - 1)) return false;
    }
    if (r.byMonthDay !== null && !r.byMonthDay.includes(d) && !r.byMonthDay.includes(d - daysInMonth(y, m) - 1)) return false;
    if (r.byDay !== null) {
      const wd = weekdayOf(y, m, d);
      // A numbered weekday counts within the month for MONTHLY, and for YEARLY when BYMONTH narrows it; else within the year.
      const inMonth = r.freq === 'MONTHLY' || r.byMonth !== null;
      const index = inMonth ? d : dayOfYear(y, m, d);
      const length = inMonth ? daysInMonth(y, m) : daysInYear(y);
      const nth = Math.floor((index - 1) / 7) + 1;
      const nthFromEnd = -(Math.floor((length - index) / 7) + 1);
      if (!r.byDay.some((b) => b.weekday === wd && (b.n === 0 || b.n === nth || b.n === nthFromEnd))) return false;
    }
    return true;
  }

  /** Weeks start on WKST; week 1 of a year is the week holding its 4 January (so at least 4 of its days). */
  #weekNoPasses(y: number, m: number, d: number): boolean {
    const day = dayNumber(wallOf(y, m, d));
    const weekStart = day - ((weekdayOf(y, m, d) - this.#r.wkst + 7) % 7);
    const weekYear = civilOf((weekStart + 3) * DAY).year;
    const week1 = this.#week1(weekYear);
    const n = (weekStart - week1) / 7 + 1;
    const weeks = (this.#week1(weekYear + 1) - week1) / 7;
    return this.#r.byWeekNo!.includes(n) || this.#r.byWeekNo!.includes(n - weeks - 1);
  }

  #week1(y: number): number {
    const jan4 = dayNumber(wallOf(y, 1, 4));
    return jan4 - ((weekdayOf(y, 1, 4) - this.#r.wkst + 7) % 7);
  }

  #periodStart(p: number): number {
    const c = this.#originCivil;
    switch (this.#r.freq) {
      case 'YEARLY': return wallOf(c.year + p, 1, 1);
      case 'MONTHLY': return wallOf(c.year + Math.floor((c.month - 1 + p) / 12), ((c.month - 1 + p) % 12) + 1, 1);
      case 'WEEKLY': return this.#origin + p * 7 * DAY;
      default: return this.#origin + p * UNIT_MS[this.#r.freq]!;
    }
  }

  /** The period holding wall time t (possibly negative: before the start's). */
  #periodOf(t: number): number {
    const o = this.#originCivil;
    const c = civilOf(t);
    switch (this.#r.freq) {
      case 'YEARLY': return c.year - o.year;
      case 'MONTHLY': return (c.year - o.year) * 12 + c.month - o.month;
      case 'WEEKLY': return Math.floor((t - this.#origin) / (7 * DAY));
      default: return Math.floor((t - this.#origin) / UNIT_MS[this.#r.freq]!);
    }
  }
}
