import type { Logger } from 'pino';

/** Where a logger made by `withFields` keeps its fields (inherited by its own children). */
const FIELDS = Symbol('spindle.logFields');

type Fielded = Logger & { [FIELDS]?: Readonly<Record<string, unknown>> };

/**
 * The pino `mixin` of a logger whose children are made with `withFields`: it puts their fields
 * into each line under the call's own, so a key passed both ways is written once, with the call's
 * value. Pino's child bindings are appended as text, so the same key bound and passed would be
 * written twice (`"attempt":1,…,"attempt":3`), which JSON readers disagree on.
 */
export function boundFields(_mergeObject: object, _level: number, logger: Logger): object {
  const fields = (logger as Fielded)[FIELDS];
  return fields === undefined ? {} : { ...fields };
}

/** A child of `logger` (created with the `boundFields` mixin) that writes `fields` on every line. */
export function withFields(logger: Logger, fields: Readonly<Record<string, unknown>>): Logger {
  const child = logger.child({}) as Fielded;
  child[FIELDS] = { ...(logger as Fielded)[FIELDS], ...fields };
  return child;
}
