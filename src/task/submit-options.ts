import { describe, parseDuration } from '../duration.js';
import { invalidArgument, SpindleError } from '../errors.js';
import type { Registry, TaskType } from './registry.js';
import { lookupType } from './registry.js';
import type { Misfire } from './task-options.js';
import { graceMsOption, maxTriesOption, misfireOption, priorityOption, timeoutOption } from './task-options.js';
import { wellFormed } from './well-formed.js';

/** A submit request, validated and resolved against its type's defaults. Frozen. */
export interface ResolvedSubmit {
  readonly type: TaskType;
  /** A JSON copy of the client's params; `{}` when none were given. */
  readonly params: unknown;
  /** Left as given: src/schedule compiles it. */
  readonly schedule: unknown;
  readonly priority: number;
  readonly maxTries: number;
  readonly timeoutMs: number;
  readonly misfire: Misfire;
  readonly graceMs: number;
  readonly key: string | null;
  /** How long the key stays held after the task ends, when this submit overrides the runtime's. */
  readonly keyRetentionMs: number | null;
}

export const DEFAULT_MAX_PARAMS_BYTES = 256 * 1024;
export const MAX_KEY_LENGTH = 256;
/** A key is never held longer than its task is kept; past a year the window is a mistake. */
export const MAX_KEY_RETENTION_MS = 366 * 24 * 60 * 60 * 1000;

const SUBMIT_FIELDS = new Set(['type', 'params', 'schedule', 'priority', 'maxTries', 'timeout', 'misfire', 'graceMs', 'key', 'keyRetention']);

/**
 * Validates one client submit (SPEC §6). Error codes: BAD_REQUEST when the request is not an
 * object, names a field that does not exist, or gives `type`, `key` or `misfire` a non-string;
 * INVALID_ARGUMENT for any bad number or duration — wrong JSON types included, so that `null`,
 * `true` and `"1000"` are refused the same way in a submit as in a task module, and for a `type`
 * or `key` that is not well-formed Unicode (see well-formed.ts); UNKNOWN_TYPE;
 * PAYLOAD_TOO_LARGE when params exceed `maxParamsBytes` of JSON; INVALID_PARAMS.
 *
 * Absent params mean `{}`, whether or not the type has a schema, so a handler can always
 * destructure its params and a schema with `required` fields refuses a submit that forgot them.
 */
export function resolveSubmitOptions(input: unknown, registry: Registry, maxParamsBytes = DEFAULT_MAX_PARAMS_BYTES): ResolvedSubmit {
  if (!isPlainObject(input)) throw badRequest('request', `a submit must be an object { type, params?, schedule?, … }, got ${describe(input)}`);
  if (hasUnknownField(input)) {
    const unknown = Object.keys(input).filter((k) => !SUBMIT_FIELDS.has(k));
    throw new SpindleError('BAD_REQUEST', `unknown submit field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => describe(k)).join(', ')}; allowed: ${[...SUBMIT_FIELDS].join(', ')}`, { field: unknown[0]!, fields: unknown });
  }

  const typeName = ownField(input, 'type');
  if (typeof typeName !== 'string') throw badRequest('type', `must be a task type name (a string), got ${describe(typeName)}`);
  const type = lookupType(registry, wellFormed(typeName, 'type'));

  const key = ownField(input, 'key');
  if (key !== undefined && (typeof key !== 'string' || key.length < 1 || key.length > MAX_KEY_LENGTH)) {
    throw badRequest('key', `must be a string of 1 to ${MAX_KEY_LENGTH} characters, got ${describe(key)}`);
  }
  if (key !== undefined) wellFormed(key, 'key');
  const keyRetention = ownField(input, 'keyRetention');
  if (keyRetention !== undefined && key === undefined) throw invalidArgument('keyRetention', 'applies only to a submit with a key; add `key` or drop `keyRetention`');
  const keyRetentionMs = keyRetention === undefined ? null : parseDuration(keyRetention, 'keyRetention', { max: MAX_KEY_RETENTION_MS });
  const misfire = ownField(input, 'misfire');
  if (misfire !== undefined && typeof misfire !== 'string') throw badRequest('misfire', `must be a string, got ${describe(misfire)}`);

  const priority = priorityOption(ownField(input, 'priority'), type.priority);
  const maxTries = maxTriesOption(ownField(input, 'maxTries'), type.maxTries);
  const timeoutMs = timeoutOption(ownField(input, 'timeout'), type.timeoutMs);
  const misfirePolicy = misfireOption(misfire);
  const graceMs = graceMsOption(ownField(input, 'graceMs'));
  const params = copyParams(ownField(input, 'params'), maxParamsBytes);
  type.validateParams(params);
  return Object.freeze({
    type, params, schedule: ownField(input, 'schedule'), priority, maxTries, timeoutMs, misfire: misfirePolicy, graceMs, key: key ?? null, keyRetentionMs,
  });
}

/**
 * Whether a submit names a field that does not exist. A loop over its keys, not a filtered key
 * list: a submitMany checks a thousand entries, and the list was garbage for every one.
 */
function hasUnknownField(input: Record<string, unknown>): boolean {
  for (const key in input) if (Object.hasOwn(input, key) && !SUBMIT_FIELDS.has(key)) return true;
  return false;
}

/** Own properties only: a key the request does not carry must not be read from a prototype. */
function ownField(input: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(input, name) ? input[name] : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Measures params as the JSON they will be stored as and returns a fresh copy parsed from it, so
 * the value validated is exactly the value stored and handed to the handler (no getters, no
 * class instances, no shared references with the caller).
 */
function copyParams(params: unknown, maxBytes: number): unknown {
  if (params === undefined) return {};
  let json: string | undefined;
  try {
    json = JSON.stringify(params);
  } catch (err) {
    throw new SpindleError('BAD_REQUEST', `params must be JSON-serialisable: ${(err as Error).message}`, { field: 'params' }, err);
  }
  if (json === undefined) throw badRequest('params', `must be a JSON value, got ${describe(params)}`);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxBytes) {
    throw new SpindleError('PAYLOAD_TOO_LARGE', `params are ${bytes} bytes of JSON, over the ${maxBytes}-byte limit; store large data elsewhere and pass a reference`, { field: 'params', bytes, limit: maxBytes });
  }
  return JSON.parse(json) as unknown;
}

function badRequest(field: string, message: string): SpindleError {
  return new SpindleError('BAD_REQUEST', `${field}: ${message}`, { field });
}
