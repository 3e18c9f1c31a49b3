/**
 * A task type's params JSON Schema: compiled with Ajv (shared per registry), and the INVALID_PARAMS
 * refusal it gives, with a reason per path. Kept apart from the registry, which finds and loads
 * the definitions.
 */
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import ajvFormats from 'ajv-formats';
import type { Logger } from 'pino';
import { describe } from '../duration.js';
import { invalidArgument, SpindleError } from '../errors.js';

/** Keeps an INVALID_PARAMS answer small even for params with thousands of bad keys. */
const MAX_REPORTED_PATHS = 100;
const PATHS_IN_MESSAGE = 10;

/**
 * One Ajv instance per registry, shared by its types: schemas may `$ref` each other by `$id`, and
 * a fresh registry (a restart in the same process) never collides with the `$id`s of an old one.
 * Strict mode is off: schemas written for other tools carry keywords Ajv does not know (`x-*`,
 * `example`), and those must not make a type unavailable. Ajv's warnings about what it ignores
 * (a format that is not a standard one, say) are logged once each with the module's file name.
 * The standard formats (`email`, `date-time`, `uri`, …) are checked, with ajv-formats.
 */
export class SchemaCompiler {
  readonly #ajv: Ajv;
  readonly #warnings: string[] = [];
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
    const collect = (...args: unknown[]): void => { this.#warnings.push(args.map(String).join(' ')); };
    this.#ajv = new Ajv({ allErrors: true, strict: false, logger: { log: collect, warn: collect, error: collect } });
    // ajv-formats is CommonJS: its default import is module.exports, which holds the plugin as `default`.
    ajvFormats.default(this.#ajv);
  }

  /**
   * The schema's frozen copy and a check that throws INVALID_PARAMS, with a reason per path;
   * neither without a schema. Absent params are checked as `{}` (what a submit stores for them).
   */
  compile(params: unknown, file: string): { schema: unknown; validate: ((params: unknown) => void) | undefined } {
    if (params === undefined) return { schema: undefined, validate: undefined };
    if (typeof params !== 'boolean' && (typeof params !== 'object' || params === null || Array.isArray(params))) {
      throw invalidArgument('params', `must be a JSON Schema (an object or a boolean), got ${describe(params)}`);
    }
    try {
      // A private frozen copy: the module cannot change the schema after it was compiled, and
      // what type.list shows is what params are checked against.
      const schema = deepFreeze(structuredClone(params));
      const validate = this.#ajv.compile(schema);
      return { schema, validate: (p: unknown) => check(validate, p === undefined ? {} : p) };
    } catch (err) {
      throw invalidArgument('params', `is not a valid JSON Schema: ${(err as Error).message}`);
    } finally {
      // Ajv gives some warnings twice for one schema (an unknown format did): log each once.
      for (const w of new Set(this.#warnings.splice(0))) this.#logger.warn({ file }, `params schema: ${w}`);
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Params are the client's data: they are only read here, never merged into another object.
 * A path points at the failing value (JSON Pointer, '/' for the root); for a missing or an
 * unexpected property it points at that property rather than at the object holding it. Each
 * reason is Ajv's, said of that path: `/to must be string`, `/subject is required`.
 */
function check(validate: ValidateFunction, params: unknown): void {
  if (validate(params)) return;
  const failures = (validate.errors ?? []).map((e) => ({ path: errorPath(e), reason: errorReason(e) }));
  const reasons = [...new Map(failures.map((f) => [`${f.path} ${f.reason}`, f])).values()];
  const paths = [...new Set(reasons.map((r) => r.path))].slice(0, MAX_REPORTED_PATHS);
  const listed = reasons.slice(0, PATHS_IN_MESSAGE).map((r) => `${r.path} ${r.reason}`).join(', ');
  const more = reasons.length > PATHS_IN_MESSAGE ? ` and ${reasons.length - PATHS_IN_MESSAGE} more` : '';
  throw new SpindleError('INVALID_PARAMS', `params do not match the type's schema: ${listed}${more}; see the type's params schema (spindle types -v)`, {
    paths,
    reasons: reasons.slice(0, MAX_REPORTED_PATHS),
  });
}

function errorPath(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  const property = p.missingProperty ?? p.additionalProperty ?? p.unevaluatedProperty;
  const path = typeof property === 'string' ? `${e.instancePath}/${property.replace(/~/g, '~0').replace(/\//g, '~1')}` : e.instancePath;
  return path === '' ? '/' : path;
}

/** Ajv's message, reworded where the path already names the property it is about. */
function errorReason(e: ErrorObject): string {
  if (e.keyword === 'required' || e.keyword === 'dependentRequired' || e.keyword === 'dependencies') return 'is required';
  if (e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties') return 'is not allowed';
  return e.message ?? `fails ${e.keyword}`;
}
