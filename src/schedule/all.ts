import { type PartCompiler, type Combined, compileParts } from './any.js';
import { LAST_INSTANT } from './civil.js';
import type { CompileContext, CompiledPart } from './schedule-fields.js';
import type { Trigger } from './trigger.js';

/**
 * Candidate instants one `next` may try before concluding the parts never coincide again. Parts
 * that never meet (two `every`s out of phase, Mondays with Tuesdays) would otherwise be searched
 * to the end of time; real intersections meet within a handful of rounds (each round jumps to the
 * latest part's next fire, so e.g. "Monday the 13th" takes about two rounds a month).
 */
export const MAX_ALL_ROUNDS = 1000;

/**
 * How far ahead one `next` looks for the parts to meet: 30 years, longer than the 28-year cycle
 * after which dates fall on the same weekdays again, so "29 February on a Monday" is found. Far
 * enough for any real intersection, and it bounds the cost of parts that never meet across many
 * zones (each year of each zone is a table to build), which would otherwise hold the runtime's
 * thread for seconds on one submit.
 */
export const MAX_ALL_SPAN_MS = 30 * 366 * 24 * 3_600_000;

/** Fires when every part fires at the same instant. */
export class AllTrigger implements Combined {
  readonly parts: readonly Trigger[];

  constructor(parts: readonly Trigger[]) {
    this.parts = parts;
  }

  next(after: number): number | null {
    const horizon = Math.min(LAST_INSTANT, after + MAX_ALL_SPAN_MS);
    let from = after;
    for (let round = 0; round < MAX_ALL_ROUNDS; round++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const part of this.parts) {
        const t = part.next(from);
        if (t === null) return null;
        lo = Math.min(lo, t);
        hi = Math.max(hi, t);
      }
      if (lo === hi) return lo;
      if (hi > horizon) return null;
      // No part fires in [from, hi) for all of them; look for the first fire of each at or after hi.
      from = hi - 1;
    }
    return null;
  }
}

export function compileAll(node: Record<string, unknown>, ctx: CompileContext, compilePart: PartCompiler): CompiledPart<{ all: object[] }> {
  const { specs, triggers } = compileParts(node, 'all', ctx, compilePart);
  return { spec: { all: specs }, trigger: new AllTrigger(triggers) };
}
