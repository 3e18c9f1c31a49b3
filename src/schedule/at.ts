import { LAST_INSTANT } from './civil.js';
import { type CompileContext, type CompiledPart, checkKeys, formatInstant, invalidSchedule, parseInstant, parseScheduleDuration } from './schedule-fields.js';
import type { Trigger } from './trigger.js';

/** One fire, at one instant. */
export class AtTrigger implements Trigger {
  readonly #at: number;

  constructor(at: number) {
    this.#at = at;
  }

  next(after: number): number | null {
    return this.#at > after ? this.#at : null;
  }
}

/** `{ at }`, and `{ in }`, which becomes an `at` that long after the submit time. */
export function compileAt(node: Record<string, unknown>, ctx: CompileContext): CompiledPart<{ at: string }> {
  let at: number;
  if ('in' in node) {
    checkKeys(node, ['in'], ctx.path, 'relative');
    if (ctx.now === null) throw invalidSchedule(`${ctx.path}.in`, 'a stored schedule holds instants, not delays');
    at = ctx.now + parseScheduleDuration(node.in, `${ctx.path}.in`, { max: LAST_INSTANT - ctx.now });
  } else {
    checkKeys(node, ['at'], ctx.path, 'one-shot');
    at = parseInstant(node.at, `${ctx.path}.at`);
  }
  return { spec: { at: formatInstant(at) }, trigger: new AtTrigger(at) };
}
