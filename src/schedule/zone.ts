import { DAY, HOUR, SECOND } from '../duration.js';

/** A change of a zone's UTC offset: from `at` on, wall time is instant + `after` instead of + `before`. */
export interface Transition {
  at: number;
  before: number;
  after: number;
}

/** How one wall time maps to instants. */
export type Resolution =
  | { kind: 'single'; at: number }
  /** The wall time does not exist: the clocks jumped over it at `transition.at`. */
  | { kind: 'gap'; transition: Transition }
  /** The wall time happens twice: at `first` (old offset) and `second` (new offset). */
  | { kind: 'fold'; first: number; second: number; transition: Transition };

/**
 * A zone's transitions are found one UTC year at a time, by sampling its offset daily and
 * bisecting each change to the second (about 400 Intl formatToParts calls, about 1.2 ms, once per
 * zone and year).
 * Sampling cannot miss a change as long as no zone changes its offset and back within one day,
 * which holds throughout the tz database.
 */
const SAMPLE = DAY;
/** Offsets lie within UTC−12…UTC+14; a little slack covers historical local mean times. */
const MAX_EAST = 15 * HOUR;
const MAX_WEST = 13 * HOUR;
/** Years kept per zone before the cache starts over. */
const MAX_CACHED_YEARS = 1000;

interface Year {
  /** Offset at the year's first instant. */
  offset: number;
  transitions: Transition[];
}

const zones = new Map<string, Zone>();

/** An IANA time zone's offsets and transitions, from Intl, cached. */
export class Zone {
  readonly name: string;
  readonly #format: Intl.DateTimeFormat;
  readonly #years = new Map<number, Year>();

  private constructor(name: string, format: Intl.DateTimeFormat) {
    this.name = name;
    this.#format = format;
  }

  /** The zone, or null when Intl does not know the name. Names are canonicalised (`utc` → `UTC`). */
  static of(name: string): Zone | null {
    const known = zones.get(name);
    if (known !== undefined) return known;
    let format: Intl.DateTimeFormat;
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone: name, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
      });
    } catch {
      return null;
    }
    const canonical = format.resolvedOptions().timeZone;
    const zone = zones.get(canonical) ?? new Zone(canonical, format);
    zones.set(canonical, zone);
    zones.set(name, zone);
    return zone;
  }

  /** Wall time minus instant, in ms, at instant `t`. */
  offset(t: number): number {
    const year = this.#year(yearOf(t));
    let offset = year.offset;
    for (const tr of year.transitions) if (tr.at <= t) offset = tr.after;
    return offset;
  }

  /** Transitions with `from < at <= to`, in order. */
  transitions(from: number, to: number): Transition[] {
    const out: Transition[] = [];
    for (let y = yearOf(from); y <= yearOf(to); y++) {
      for (const tr of this.#year(y).transitions) if (tr.at > from && tr.at <= to) out.push(tr);
    }
    return out;
  }

  /** The instants whose wall time is `wall`. */
  resolve(wall: number): Resolution {
    const trs = this.transitions(wall - MAX_EAST, wall + MAX_WEST);
    if (trs.length === 0) return { kind: 'single', at: wall - this.offset(wall) };
    const hits: number[] = [];
    for (const o of new Set([this.offset(wall - MAX_EAST), ...trs.map((tr) => tr.after)])) {
      if (this.offset(wall - o) === o) hits.push(wall - o);
    }
    hits.sort((a, b) => a - b);
    if (hits.length === 1) return { kind: 'single', at: hits[0]! };
    if (hits.length >= 2) {
      const [first, second] = hits as [number, number];
      return { kind: 'fold', first, second, transition: trs.find((tr) => tr.at > first && tr.at <= second)! };
    }
    return { kind: 'gap', transition: trs.find((tr) => wall >= tr.at + tr.before && wall < tr.at + tr.after)! };
  }

  #year(y: number): Year {
    let year = this.#years.get(y);
    if (year !== undefined) return year;
    const start = Date.UTC(y, 0, 1);
    const end = Date.UTC(y + 1, 0, 1);
    year = { offset: this.#rawOffset(start), transitions: [] };
    let before = year.offset;
    for (let t = start; t < end; ) {
      const next = Math.min(t + SAMPLE, end);
      const after = this.#rawOffset(next);
      if (after !== before) {
        let lo = t; // offset here is `before`
        let hi = next; // offset here is not
        while (hi - lo > SECOND) {
          const mid = lo + Math.floor((hi - lo) / 2 / SECOND) * SECOND;
          if (this.#rawOffset(mid) === before) lo = mid;
          else hi = mid;
        }
        year.transitions.push({ at: hi, before, after });
        before = after;
      }
      t = next;
    }
    if (this.#years.size >= MAX_CACHED_YEARS) this.#years.clear();
    this.#years.set(y, year);
    return year;
  }

  /** Wall time minus instant at `t`, read from Intl's parts (no text to parse, whatever the ICU version prints). */
  #rawOffset(t: number): number {
    const s = Math.floor(t / SECOND) * SECOND;
    let y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, found = 0;
    for (const part of this.#format.formatToParts(s)) {
      switch (part.type) {
        case 'year': y = Number(part.value); break;
        case 'month': mo = Number(part.value); break;
        case 'day': d = Number(part.value); break;
        case 'hour': h = Number(part.value); break;
        case 'minute': mi = Number(part.value); break;
        case 'second': sec = Number(part.value); break;
        default: continue;
      }
      found++;
    }
    if (found !== 6) throw new Error(`unexpected Intl output for ${this.name}`);
    return Date.UTC(y, mo - 1, d, h, mi, sec) - s;
  }
}

/** UTC year of an instant, kept within the years Intl formats plainly (1000–9999). */
function yearOf(t: number): number {
  return Math.min(9999, Math.max(1000, new Date(t).getUTCFullYear()));
}
