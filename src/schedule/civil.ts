import { DAY } from '../duration.js';

/**
 * Calendar arithmetic on wall time. A wall time is a local date and time written as if it were
 * UTC: milliseconds since 1970-01-01T00:00 of the local calendar. Cron and RRULE match against
 * wall time; only src/schedule/zone.ts turns it into instants.
 */

export interface Civil {
  year: number;
  month: number; // 1..12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The first instant a schedule may hold or produce: the epoch, as for instants given in ms. */
export const FIRST_INSTANT = 0;
/** The last instant a schedule may produce: ISO strings keep four-digit years up to here. */
export const LAST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

export function daysInMonth(y: number, m: number): number {
  return m === 2 ? (isLeapYear(y) ? 29 : 28) : [31, 0, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
}

export function daysInYear(y: number): number {
  return isLeapYear(y) ? 366 : 365;
}

/** Wall ms of a date and time; years below 100 are taken literally (Date.UTC would add 1900). */
export function wallOf(y: number, m: number, d: number, h = 0, mi = 0, s = 0): number {
  if (y >= 100) return Date.UTC(y, m - 1, d, h, mi, s);
  const date = new Date(Date.UTC(2000, m - 1, d, h, mi, s));
  date.setUTCFullYear(y);
  return date.getTime();
}

export function civilOf(wall: number): Civil {
  const d = new Date(wall);
  return {
    year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(),
    hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds(),
  };
}

/** Days since 1970-01-01 of a wall time (floor). */
export function dayNumber(wall: number): number {
  return Math.floor(wall / DAY);
}

/** 0 = Sunday … 6 = Saturday. */
export function weekdayOf(y: number, m: number, d: number): number {
  return (((dayNumber(wallOf(y, m, d)) + 4) % 7) + 7) % 7;
}

/** 1-based day of the year. */
export function dayOfYear(y: number, m: number, d: number): number {
  return dayNumber(wallOf(y, m, d)) - dayNumber(wallOf(y, 1, 1)) + 1;
}

export function floorTo(ms: number, unit: number): number {
  return Math.floor(ms / unit) * unit;
}

/** Seconds since midnight. */
export function secondOfDay(h: number, mi: number, s: number): number {
  return h * 3600 + mi * 60 + s;
}
