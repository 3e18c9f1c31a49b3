import { type CompileContext, type CompiledPart, checkKeys, invalidSchedule } from './schedule-fields.js';
import type { Trigger } from './trigger.js';

/** Most parts one `any` or `all` holds (after flattening), and how deep the two may nest. */
export const MAX_PARTS = 10;
export const MAX_DEPTH = 2;
/**
 * How deep any/all may nest as written, before flattening: checked before the parts are compiled,
 * so that a deeply nested input is refused rather than overflowing the stack.
 */
export const MAX_NESTING = 8;

export type PartCompiler = (input: unknown, ctx: CompileContext) => CompiledPart<object>;

/** A trigger made of parts (any, all), so that a combinator of the same kind can be flattened. */
export interface Combined extends Trigger {
  readonly parts: readonly Trigger[];
}

/** Fires whenever any part fires. */
export class AnyTrigger implements Combined {
  readonly parts: readonly Trigger[];

  constructor(parts: readonly Trigger[]) {
    this.parts = parts;
  }

  next(after: number): number | null {
    let best: number | null = null;
    for (const part of this.parts) {
      const t = part.next(after);
      if (t !== null && (best === null || t < best)) best = t;
    }
    return best;
  }
}

/**
 * Compiles the parts of `{ any: [...] }` or `{ all: [...] }`. A part of the same kind is flattened
 * into this one (union and intersection are associative); the other kind may nest MAX_DEPTH
 * levels deep. Both limits keep the cost of one `next` bounded.
 */
export function compileParts(node: Record<string, unknown>, kind: 'any' | 'all', ctx: CompileContext, compilePart: PartCompiler): { specs: object[]; triggers: Trigger[] } {
  checkKeys(node, [kind], ctx.path, kind);
  const field = `${ctx.path}.${kind}`;
  const list = node[kind];
  if (!Array.isArray(list) || list.length === 0) throw invalidSchedule(field, 'must be a non-empty array of schedules');
  // Flattening never lowers the count of parts, and only lowers the depth: refuse early what cannot pass.
  if (list.length > MAX_PARTS) throw invalidSchedule(field, `holds ${list.length} schedules; at most ${MAX_PARTS}`);
  const nesting = (ctx.nesting ?? 0) + 1;
  if (nesting > MAX_NESTING) throw invalidSchedule(field, `nests any and all more than ${MAX_NESTING} levels deep; flatten it`);
  const specs: object[] = [];
  const triggers: Trigger[] = [];
  let depth = 1;
  list.forEach((input: unknown, i) => {
    const part = compilePart(input, { now: ctx.now, path: `${field}[${i}]`, nesting });
    const spec = part.spec as Record<string, unknown>;
    if (Array.isArray(spec[kind])) {
      specs.push(...(spec[kind] as object[]));
      triggers.push(...(part.trigger as Combined).parts);
      depth = Math.max(depth, depthOf(spec));
    } else {
      specs.push(spec);
      triggers.push(part.trigger);
      depth = Math.max(depth, 1 + depthOf(spec));
    }
  });
  if (specs.length > MAX_PARTS) throw invalidSchedule(field, `holds ${specs.length} schedules; at most ${MAX_PARTS}`);
  if (depth > MAX_DEPTH) throw invalidSchedule(field, `nests any and all ${depth} levels deep; at most ${MAX_DEPTH}`);
  return { specs, triggers };
}

export function compileAny(node: Record<string, unknown>, ctx: CompileContext, compilePart: PartCompiler): CompiledPart<{ any: object[] }> {
  const { specs, triggers } = compileParts(node, 'any', ctx, compilePart);
  return { spec: { any: specs }, trigger: new AnyTrigger(triggers) };
}

function depthOf(spec: Record<string, unknown>): number {
  const parts = (spec.any ?? spec.all) as Record<string, unknown>[] | undefined;
  return parts === undefined ? 0 : 1 + Math.max(...parts.map(depthOf));
}
