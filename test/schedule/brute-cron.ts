import { type CronExpression, matches } from '../../src/schedule/cron-expression.js';

/**
 * A brute-force oracle for cron fire times, independent of src/schedule's search and zone code:
 * it walks real time step by step (a minute, or a second for 6-field expressions), reads each
 * instant's wall time straight from Intl, and applies SPEC §4 literally:
 * - a wall time the clock jumps over (the walk sees the wall time leap by more than one step)
 *   fires once, at the first instant after the jump, if any skipped wall time matches;
 * - a wall time shown a second time (not later than the latest wall time already shown) fires
 *   again only when the hour field is `*` or `*∕n`;
 * - any other matching wall time fires at its instant.
 * Offsets of the zones used are whole minutes, so walking by minutes sees every wall minute.
 */

const formats = new Map<string, Intl.DateTimeFormat>();

/** Wall time (local time written as UTC ms) of instant t in zone tz, from Intl alone. */
export function wallAt(tz: string, t: number): number {
  let f = formats.get(tz);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formats.set(tz, f);
  }
  const m = /^(\d+)\/(\d+)\/(\d+), (\d+):(\d+):(\d+)$/.exec(f.format(t));
  if (!m) throw new Error(`unexpected Intl output ${f.format(t)}`);
  const [mo, d, y, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

/** The wall time at every step of [from − warm-up, to]. Compute once per zone and window, reuse per expression. */
export interface Timeline {
  tz: string;
  from: number;
  to: number;
  step: number;
  /** Instant of walls[0]. */
  origin: number;
  walls: number[];
}

/** Long enough to have seen every wall time a fall-back can repeat (shifts are at most 2 h). */
const WARM_UP = 3 * 3600_000;

export function timeline(tz: string, from: number, to: number, step: number): Timeline {
  const origin = from - WARM_UP;
  const walls: number[] = [];
  for (let t = origin; t <= to; t += step) walls.push(wallAt(tz, t));
  return { tz, from, to, step, origin, walls };
}

function civil(wall: number): [number, number, number, number, number, number] {
  const d = new Date(wall);
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
}

/** Expected fire instants in [tl.from, tl.to]. */
export function expectedFires(e: CronExpression, tl: Timeline): number[] {
  const fires: number[] = [];
  let latest = -Infinity;
  for (let i = 1; i < tl.walls.length; i++) {
    const t = tl.origin + i * tl.step;
    const wall = tl.walls[i]!;
    const prev = tl.walls[i - 1]!;
    let fire = false;
    for (let skipped = prev + tl.step; skipped < wall && !fire; skipped += tl.step) fire = matches(e, ...civil(skipped));
    const repeated = wall <= latest;
    if (matches(e, ...civil(wall)) && (!repeated || e.followsRealTime)) fire = true;
    latest = Math.max(latest, wall);
    if (fire && t >= tl.from) fires.push(t);
  }
  return fires;
}

/** Instants (to the minute) where tz's offset changes within [from, to], found by scanning hours. */
export function offsetChanges(tz: string, from: number, to: number): number[] {
  const offset = (t: number): number => wallAt(tz, t) - t;
  const out: number[] = [];
  for (let t = from; t < to; t += 3600_000) {
    if (offset(t) === offset(t + 3600_000)) continue;
    let lo = t;
    let hi = t + 3600_000;
    while (hi - lo > 60_000) {
      const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
      if (offset(mid) === offset(lo)) lo = mid;
      else hi = mid;
    }
    out.push(hi);
  }
  return out;
}
