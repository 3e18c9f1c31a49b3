import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import type { Logger } from 'pino';

/** Milliseconds, or a string such as `500ms`, `30s`, `5m`, `2h`, `1d`, `1w`. */
export type Duration = number | string;

/** A JSON Schema (draft-07 / 2019-09 keywords as Ajv 8 understands them), or `true`/`false`. */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

export interface RetryOptions {
  /** Wait before the second try (default 1s). */
  delay?: Duration;
  /** Each further wait is the previous one times this (1..100, default 2). */
  backoff?: number;
  /** Upper bound of a wait before jitter (default 5m, or `delay` when that is longer). */
  maxDelay?: Duration;
  /** Random ± fraction applied to each wait (0..1, default 0.2). */
  jitter?: number;
}

/** What a handler receives besides its params. */
export interface TaskContext {
  /** Aborted on timeout, cancel or shutdown; pass it to anything that can stop early. */
  readonly signal: AbortSignal;
  /**
   * A pino logger whose lines carry the run's taskId, type, attempt and worker (a field passed
   * with the same name wins, written once). What the handler prints (console.log, stdout and
   * stderr writes) is logged with the same fields and `stream`.
   */
  readonly log: Logger;
  /** 1-based attempt number within the occurrence. */
  readonly attempt: number;
  /** Reports progress, 0..1, visible to clients. */
  progress(p: number): Promise<void>;
}

/**
 * A task module's default export (SPEC §2). Defaults and ranges: src/task/task-options.ts.
 * `P` is what `run` takes, `O` what it returns and `N` the type name: `defineTask` infers all
 * three, and a typed Client reads them back (see TaskMap).
 */
export interface TaskDefinition<P = unknown, O = unknown, N extends string = string> {
  /** Unique type name: [a-z0-9][a-z0-9._-]*, at most 100 characters. */
  name: N;
  description?: string;
  /** JSON Schema the params must satisfy; without one any JSON value is accepted. */
  params?: JsonSchema;
  /** Per-run limit (default 10m, at most 2^31−1 ms). */
  timeout?: Duration;
  /** Runs per occurrence before the task gives up (1..1000, default 3). */
  maxTries?: number;
  retry?: RetryOptions;
  /** Runs of this type at once (1..100000, default unlimited). */
  concurrency?: number;
  /** Higher runs first among due tasks (−1000000..1000000, default 0). */
  priority?: number;
  /** Non-terminal tasks of this type before submits are refused (1..10^9, default unlimited). */
  maxQueued?: number;
  /** Overrides the runtime's executor mode for this type. */
  isolation?: 'thread' | 'process';
  /** How long a terminal task is kept (at most 10 years, or 'forever'; default: the runtime's). */
  retention?: Duration | 'forever';
  /**
   * The module that exports this definition, as `import.meta.url`: needed when the definition is
   * given to `Runtime.start({ tasks: [...] })` in code, since its handler runs in a worker, which
   * imports this module and finds the definition among its exports by name. Ignored for a
   * module in a tasks folder (the file is the module).
   */
  module?: string | URL;
  /** Runs in a worker, never in the supervisor thread. The output must be JSON-serialisable. */
  run(params: P, ctx: TaskContext): O | Promise<O>;
}

/**
 * The params type a schema declares, by json-schema-to-ts: `unknown` without a schema, for
 * `true`/`false`, and for a schema whose literal form TypeScript cannot see (one typed as a
 * plain JsonSchema, say), so such a task types exactly as it did before schemas were read.
 */
export type ParamsOf<S> = S extends undefined | boolean ? unknown
  : JSONSchema extends S ? unknown
  : S extends JSONSchema ? FromSchema<S>
  : unknown;

declare const PARAMS_FROM_SCHEMA: unique symbol;
/** The default of defineTask's `P`: "not given", so the params type comes from the schema. */
type FromTheSchema = typeof PARAMS_FROM_SCHEMA;

/**
 * Returns its argument unchanged: it exists only so TypeScript checks and infers the definition.
 * The params `run` receives are typed from the `params` schema (written inline, or a constant
 * declared `as const`); the output type is what `run` returns; the name is kept as a literal.
 * Annotating `run`'s params, or passing `P` explicitly, still wins over the schema, as before.
 */
export function defineTask<
  P = FromTheSchema,
  O = unknown,
  const S extends JsonSchema | undefined = JsonSchema | undefined,
  const N extends string = string,
>(definition: TaskDefinition<[P] extends [FromTheSchema] ? ParamsOf<S> : P, O, N> & { params?: S }): TaskDefinition<[P] extends [FromTheSchema] ? ParamsOf<S> : P, O, N> {
  return definition;
}
