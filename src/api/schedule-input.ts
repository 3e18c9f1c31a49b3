/**
 * A schedule as a submit takes it (SPEC §4), for the types only: the compilers in this folder
 * check it at run time whatever its static type. Durations are ms or strings such as "15m";
 * instants are ms since 1970 or ISO-8601 strings with an offset.
 */
export type Schedule =
  | { at: number | string }
  | { in: number | string }
  | ({ every: number | string } & AdaptiveFields & BoundsFields)
  | ({ cron: string; tz?: string } & BoundsFields)
  | { rrule: string; tz?: string; start?: number | string; count?: number }
  | { any: readonly Schedule[] }
  | { all: readonly Schedule[] };

// Type literals, not interfaces: those are assignable to Record<string, unknown>, so a typed
// submit's options can be handed on to anything taking plain SubmitOptions.
type BoundsFields = {
  start?: number | string;
  end?: number | string;
  count?: number;
};

/** All three or none: an adaptive `every`. */
type AdaptiveFields = {
  minEvery?: number | string;
  maxEvery?: number | string;
  backoff?: number;
};
