import { daysInMonth, wallOf } from './civil.js';

/**
 * RFC 5545 §3.3.10 recurrence rules: a strict parser and a canonical printer. Only the RRULE
 * value is taken (optionally after `RRULE:`); the start and zone come from the schedule's own
 * `start` and `tz`, so DTSTART, RDATE and EXDATE lines are refused.
 */

export class RRuleSyntaxError extends Error {}

export const FREQUENCIES = ['SECONDLY', 'MINUTELY', 'HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'] as const;
export type Frequency = (typeof FREQUENCIES)[number];
export const WEEKDAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'] as const;

/** `BYDAY` item: weekday 0 (Sunday) … 6, and n ≠ 0 for "the n-th one" (negative from the end). */
export interface WeekdayRule {
  weekday: number;
  n: number;
}

export interface RecurrenceRule {
  freq: Frequency;
  interval: number;
  count: number | null;
  /** UNTIL: an instant when written with Z, else a wall time in the schedule's zone. */
  until: { utc: boolean; value: number } | null;
  wkst: number;
  byMonth: number[] | null;
  byWeekNo: number[] | null;
  byYearDay: number[] | null;
  byMonthDay: number[] | null;
  byDay: WeekdayRule[] | null;
  byHour: number[] | null;
  byMinute: number[] | null;
  bySecond: number[] | null;
  bySetPos: number[] | null;
}

type ListPart = 'BYMONTH' | 'BYWEEKNO' | 'BYYEARDAY' | 'BYMONTHDAY' | 'BYHOUR' | 'BYMINUTE' | 'BYSECOND' | 'BYSETPOS';
/** Allowed magnitude of each numeric list, and whether negatives (counting from the end) are. */
const LISTS: Record<ListPart, { key: keyof RecurrenceRule; min: number; max: number; signed: boolean }> = {
  BYMONTH: { key: 'byMonth', min: 1, max: 12, signed: false },
  BYWEEKNO: { key: 'byWeekNo', min: 1, max: 53, signed: true },
  BYYEARDAY: { key: 'byYearDay', min: 1, max: 366, signed: true },
  BYMONTHDAY: { key: 'byMonthDay', min: 1, max: 31, signed: true },
  BYHOUR: { key: 'byHour', min: 0, max: 23, signed: false },
  BYMINUTE: { key: 'byMinute', min: 0, max: 59, signed: false },
  BYSECOND: { key: 'bySecond', min: 0, max: 59, signed: false },
  BYSETPOS: { key: 'bySetPos', min: 1, max: 366, signed: true },
};
/** Keeps every rule's search bounded: no period count anyone needs is near it. */
const MAX_INTERVAL = 1_000_000;

export function parseRRule(text: string, maxCount: number): RecurrenceRule {
  const body = text.trim().replace(/^RRULE:/i, '');
  if (/[\r\n]/.test(body) || /^(DTSTART|RDATE|EXDATE)/i.test(body)) {
    throw new RRuleSyntaxError('give only the rule (like FREQ=DAILY;BYHOUR=9); the start and zone go in the schedule\'s start and tz');
  }
  const rule: RecurrenceRule = {
    freq: 'DAILY', interval: 1, count: null, until: null, wkst: 1, byMonth: null, byWeekNo: null, byYearDay: null,
    byMonthDay: null, byDay: null, byHour: null, byMinute: null, bySecond: null, bySetPos: null,
  };
  const seen = new Set<string>();
  for (const part of body.split(';')) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq).toUpperCase();
    const value = part.slice(eq + 1).toUpperCase();
    if (eq <= 0 || value === '') throw new RRuleSyntaxError(`"${part}" is not NAME=VALUE`);
    if (seen.has(name)) throw new RRuleSyntaxError(`${name} is given twice`);
    seen.add(name);
    if (name === 'FREQ') {
      if (!(FREQUENCIES as readonly string[]).includes(value)) throw new RRuleSyntaxError(`FREQ=${value} is not one of ${FREQUENCIES.join(', ')}`);
      rule.freq = value as Frequency;
    } else if (name === 'INTERVAL') rule.interval = integer(value, name, 1, MAX_INTERVAL);
    else if (name === 'COUNT') rule.count = integer(value, name, 1, maxCount);
    else if (name === 'UNTIL') rule.until = until(value);
    else if (name === 'WKST') rule.wkst = weekday(value, name);
    else if (name === 'BYDAY') rule.byDay = value.split(',').map(byDayItem);
    else if (name in LISTS) {
      const spec = LISTS[name as ListPart];
      const list = value.split(',').map((v) => signedInteger(v, name, spec.min, spec.max, spec.signed));
      (rule[spec.key] as number[] | null) = [...new Set(list)].sort((a, b) => a - b);
    } else throw new RRuleSyntaxError(`${name} is not a recurrence rule part`);
  }
  if (!seen.has('FREQ')) throw new RRuleSyntaxError('FREQ is missing; start with FREQ=DAILY, WEEKLY, MONTHLY, …');
  checkCombinations(rule);
  return rule;
}

/** The rule in canonical order; parseRRule(formatRRule(r)) equals r. */
export function formatRRule(r: RecurrenceRule): string {
  const parts = [`FREQ=${r.freq}`];
  if (r.interval !== 1) parts.push(`INTERVAL=${r.interval}`);
  if (r.count !== null) parts.push(`COUNT=${r.count}`);
  if (r.until !== null) parts.push(`UNTIL=${new Date(r.until.value).toISOString().replace(/[-:]|\.\d+/g, '').replace('Z', r.until.utc ? 'Z' : '')}`);
  const lists: [string, (number | string)[] | null][] = [
    ['BYMONTH', r.byMonth], ['BYWEEKNO', r.byWeekNo], ['BYYEARDAY', r.byYearDay], ['BYMONTHDAY', r.byMonthDay],
    ['BYDAY', r.byDay?.map((d) => `${d.n === 0 ? '' : d.n}${WEEKDAYS[d.weekday]}`) ?? null],
    ['BYHOUR', r.byHour], ['BYMINUTE', r.byMinute], ['BYSECOND', r.bySecond], ['BYSETPOS', r.bySetPos],
  ];
  for (const [name, list] of lists) if (list !== null) parts.push(`${name}=${list.join(',')}`);
  if (r.wkst !== 1) parts.push(`WKST=${WEEKDAYS[r.wkst]}`);
  return parts.join(';');
}

/** The RFC's "MUST NOT" combinations, and COUNT with UNTIL. */
function checkCombinations(r: RecurrenceRule): void {
  const refuse = (message: string): never => {
    throw new RRuleSyntaxError(message);
  };
  if (r.count !== null && r.until !== null) refuse('COUNT and UNTIL cannot both be given');
  if (r.byWeekNo !== null && r.freq !== 'YEARLY') refuse('BYWEEKNO only applies to FREQ=YEARLY');
  if (r.byYearDay !== null && ['DAILY', 'WEEKLY', 'MONTHLY'].includes(r.freq)) refuse(`BYYEARDAY does not apply to FREQ=${r.freq}`);
  if (r.byMonthDay !== null && r.freq === 'WEEKLY') refuse('BYMONTHDAY does not apply to FREQ=WEEKLY');
  const ordinals = r.byDay?.filter((d) => d.n !== 0) ?? [];
  if (ordinals.length > 0) {
    if (r.freq !== 'MONTHLY' && r.freq !== 'YEARLY') refuse(`a numbered BYDAY (like 2MO) only applies to FREQ=MONTHLY or YEARLY`);
    if (r.freq === 'YEARLY' && r.byWeekNo !== null) refuse('a numbered BYDAY cannot be combined with BYWEEKNO');
    const inMonth = r.freq === 'MONTHLY' || r.byMonth !== null;
    if (inMonth && ordinals.some((d) => Math.abs(d.n) > 5)) refuse('a numbered BYDAY within a month is at most 5 (or -5)');
  }
  const others = [r.byMonth, r.byWeekNo, r.byYearDay, r.byMonthDay, r.byDay, r.byHour, r.byMinute, r.bySecond];
  if (r.bySetPos !== null && others.every((l) => l === null)) refuse('BYSETPOS needs another BY… part to choose from');
  if (r.byMonthDay !== null && r.byMonth !== null && r.byMonthDay.every((d) => d > 0 && r.byMonth!.every((m) => d > daysInMonth(2000, m)))) {
    refuse(`no month in BYMONTH=${r.byMonth.join(',')} has day ${r.byMonthDay.join(',')}`);
  }
}

function integer(text: string, name: string, min: number, max: number): number {
  if (!/^\d{1,9}$/.test(text) || Number(text) < min || Number(text) > max) throw new RRuleSyntaxError(`${name}=${text} must be a whole number from ${min} to ${max}`);
  return Number(text);
}

function signedInteger(text: string, name: string, min: number, max: number, signed: boolean): number {
  const m = /^([+-]?)(\d{1,3})$/.exec(text);
  const v = m ? Number(m[2]) : NaN;
  if (!m || v < min || v > max || (m[1] === '-' && !signed)) {
    throw new RRuleSyntaxError(`${name}=${text}: each value must be ${signed ? `±${min}…±${max}` : `${min} to ${max}`}`);
  }
  return m[1] === '-' ? -v : v;
}

function weekday(text: string, name: string): number {
  const i = (WEEKDAYS as readonly string[]).indexOf(text);
  if (i < 0) throw new RRuleSyntaxError(`${name}: "${text}" is not a weekday (${WEEKDAYS.join(', ')})`);
  return i;
}

function byDayItem(text: string): WeekdayRule {
  const m = /^([+-]?\d{1,2})?([A-Z]{2})$/.exec(text);
  if (!m) throw new RRuleSyntaxError(`BYDAY: "${text}" is not a weekday like MO, 2TU or -1FR`);
  const n = m[1] === undefined ? 0 : Number(m[1]);
  if (m[1] !== undefined && (n === 0 || Math.abs(n) > 53)) throw new RRuleSyntaxError(`BYDAY: "${text}" must number the weekday from 1 to 53 (or -1 to -53)`);
  return { weekday: weekday(m[2]!, 'BYDAY'), n };
}

function until(text: string): { utc: boolean; value: number } {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)$/.exec(text);
  const [y, mo, d, h, mi, s] = m ? m.slice(1, 7).map(Number) as [number, number, number, number, number, number] : [0, 0, 0, 0, 0, 0];
  if (!m || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) {
    throw new RRuleSyntaxError(`UNTIL=${text} must be a date-time like 20261231T235959Z (UTC) or 20261231T235959 (in the schedule's zone)`);
  }
  return { utc: m[7] === 'Z', value: wallOf(y, mo, d, h, mi, s) };
}
