import { compileSchedule, type Trigger } from '../../src/schedule/index.js';

/** Helpers for the table-driven schedule tests: fixed instants in, ISO strings out. */

/** An instant written in ISO-8601 (refuses a typo rather than comparing against NaN). */
export function ms(text: string): number {
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new Error(`bad instant in a test table: ${text}`);
  return t;
}

/** The canonical spelling of instants written loosely in a table (`2027-03-14T07:00Z`). */
export function isos(texts: readonly string[]): string[] {
  return texts.map((text) => new Date(ms(text)).toISOString());
}

/** The first `n` fire times strictly after `after` (fewer when the trigger ends), in ISO. */
export function firesAfter(trigger: Trigger, after: number, n: number): string[] {
  const out: string[] = [];
  for (let t = trigger.next(after); t !== null && out.length < n; t = trigger.next(t)) out.push(new Date(t).toISOString());
  return out;
}

/** A schedule compiled at `now`: its first due time, then the next `n − 1` fire times, in ISO. */
export function firesOf(schedule: unknown, now: number, n: number): string[] {
  const { first, trigger } = compileSchedule(schedule, now);
  return [new Date(first).toISOString(), ...firesAfter(trigger, first, n - 1)];
}
