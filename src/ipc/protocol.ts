import { CLIENT_ERRORS, invalidArgument, SpindleError } from '../errors.js';
import type { SpindleEvent } from '../api/events.js';
import { METHODS, type Method } from '../api/methods.js';

/**
 * The IPC protocol (SPEC §6): JSON-RPC 2.0, one message per line. A method's result is what the
 * in-process Runtime method of the same name returns (e.g. `task.submitMany` → the tasks in order,
 * `task.list` → `{ tasks, cursor }`), so the client proxy and the library answer alike.
 */

export type RpcId = string | number | null;

export interface RpcRequest {
  jsonrpc: '2.0';
  /** Absent on a notification, which gets no answer. */
  id?: RpcId;
  method: string;
  params?: Record<string, unknown>;
}

export interface RpcErrorObject {
  code: number;
  message: string;
  data: { code: string; [detail: string]: unknown };
}

export type RpcResponse =
  | { jsonrpc: '2.0'; id: RpcId; result: unknown }
  | { jsonrpc: '2.0'; id: RpcId; error: RpcErrorObject };

/** An event pushed to a subscriber, tagged with the subscription it matched. */
export interface RpcEventNotification {
  jsonrpc: '2.0';
  method: 'event';
  params: { subscription: string; event: SpindleEvent['event']; data: SpindleEvent['data'] };
}


/** JSON-RPC's own codes, for failures before a method runs. */
export const RPC_PARSE_ERROR = -32700;
export const RPC_INVALID_REQUEST = -32600;
export const RPC_METHOD_NOT_FOUND = -32601;
export const RPC_INTERNAL_ERROR = -32603;

/** Most tasks one `task.submitMany` may carry. */
export const MAX_SUBMIT_MANY = 10_000;

export function resultResponse(id: RpcId, result: unknown): RpcResponse {
  return { jsonrpc: '2.0', id, result };
}

/**
 * A result array longer than this is encoded in pieces of this many items. The whole line as one
 * string would be a large object (a 1,000-task submitMany answers about 550 KB), which V8 puts on
 * pages fresh from the kernel, faulted in one by one, and flattens again to write (the newline
 * makes it a rope); a piece of 100 tasks (about 55 KB) stays in the young generation.
 */
const PIECE_ITEMS = 100;

/**
 * A response as the strings of its line, in order: `JSON.stringify(response)` and a newline, with
 * a long result array cut between items (each piece stringified as a slice of the array, so the
 * bytes are the same; an item's toJSON is given its index in the slice, which no view reads).
 * Throws what JSON.stringify throws, before anything is written.
 *
 * Each piece is one cut of one JSON.stringify, never a concatenation: a joined piece is a rope,
 * which the socket flattens again (another 55 KB copy) to write it. The first piece is the whole
 * response over the first items with its closing `]}` cut off; each later one a slice led by a
 * 0 whose `[0` is cut off, which leaves the comma between it and the items before.
 */
export function responseLine(response: RpcResponse): string[] {
  const result = 'result' in response ? response.result : undefined;
  if (!Array.isArray(result) || result.length <= PIECE_ITEMS) return [`${JSON.stringify(response)}\n`];
  const pieces = [JSON.stringify({ jsonrpc: '2.0', id: response.id, result: result.slice(0, PIECE_ITEMS) }).slice(0, -2)];
  for (let i = PIECE_ITEMS; i < result.length; i += PIECE_ITEMS) {
    const slice: unknown[] = result.slice(i - 1, i + PIECE_ITEMS);
    slice[0] = 0;
    pieces.push(JSON.stringify(slice).slice(2, -1));
  }
  pieces.push(']}\n');
  return pieces;
}

/**
 * A SpindleError keeps its stable code in `data.code` next to its details; anything else is a bug
 * on our side and answers a bare internal error, so no stack or message text leaks to clients.
 */
export function errorResponse(id: RpcId, err: unknown): RpcResponse {
  if (err instanceof SpindleError) {
    const rpcCode = (CLIENT_ERRORS as Record<string, number>)[err.code] ?? RPC_INTERNAL_ERROR;
    return { jsonrpc: '2.0', id, error: { code: rpcCode, message: clip(err.message), data: { ...clipDetails(err.details), code: err.code } } };
  }
  return { jsonrpc: '2.0', id, error: { code: RPC_INTERNAL_ERROR, message: 'internal error; the runtime log has the details', data: { code: 'INTERNAL' } } };
}

/** An error names what went wrong; it never echoes a client's megabytes back (10^6 unknown fields, say). */
const MAX_ERROR_MESSAGE_CHARS = 1024;
const MAX_ERROR_LIST_ITEMS = 100;

function clip(text: string): string {
  return text.length <= MAX_ERROR_MESSAGE_CHARS ? text : `${text.slice(0, MAX_ERROR_MESSAGE_CHARS)}…`;
}

function clipDetails(details: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details)) {
    out[key] = typeof value === 'string' ? clip(value) : Array.isArray(value) && value.length > MAX_ERROR_LIST_ITEMS ? value.slice(0, MAX_ERROR_LIST_ITEMS) : value;
  }
  return out;
}

export function eventNotification(subscription: string, ev: SpindleEvent): RpcEventNotification {
  return { jsonrpc: '2.0', method: 'event', params: { subscription, event: ev.event, data: ev.data } };
}

function envelopeError(rpcCode: number, message: string): RpcResponse {
  return { jsonrpc: '2.0', id: null, error: { code: rpcCode, message, data: { code: 'BAD_REQUEST' } } };
}

export type ParsedLine = { ok: true; request: RpcRequest } | { ok: false; response: RpcResponse };

/**
 * Parses and checks one line's envelope. JSON.parse makes `__proto__` an own data property, and
 * params are only ever read field by field (never merged into another object), so hostile keys
 * stay inert data. Deep nesting either parses or throws RangeError: both answer -32700.
 */
export function parseLine(line: string): ParsedLine {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    return { ok: false, response: envelopeError(RPC_PARSE_ERROR, 'parse error: each line must be one JSON-RPC 2.0 message') };
  }
  if (!isPlainObject(msg)) return { ok: false, response: envelopeError(RPC_INVALID_REQUEST, 'invalid request: a message must be a JSON object') };
  const id = own(msg, 'id');
  const hasId = Object.hasOwn(msg, 'id');
  if (hasId && id !== null && typeof id !== 'string' && !(typeof id === 'number' && Number.isFinite(id))) {
    return { ok: false, response: envelopeError(RPC_INVALID_REQUEST, 'invalid request: id must be a string, a number or null') };
  }
  if (typeof id === 'string' && id.length > MAX_RPC_ID_CHARS) {
    return { ok: false, response: envelopeError(RPC_INVALID_REQUEST, `invalid request: a string id has at most ${MAX_RPC_ID_CHARS} characters`) };
  }
  const replyId = hasId ? (id as RpcId) : null;
  const fail = (message: string): ParsedLine => ({ ok: false, response: { ...envelopeError(RPC_INVALID_REQUEST, message), id: replyId } });
  if (own(msg, 'jsonrpc') !== '2.0') return fail('invalid request: jsonrpc must be "2.0"');
  const method = own(msg, 'method');
  if (typeof method !== 'string') return fail('invalid request: method must be a string');
  const params = own(msg, 'params');
  if (params !== undefined && !isPlainObject(params)) {
    return { ok: false, response: errorResponse(replyId, new SpindleError('BAD_REQUEST', 'params must be an object of named parameters', { field: 'params' })) };
  }
  // Raw bytes cannot carry a surrogate (the decoder turns bad UTF-8 into U+FFFD), only a \u escape can.
  if (SURROGATE_ESCAPE.test(line)) {
    const field = params === undefined ? undefined : Object.keys(params).find((k) => hasLoneSurrogate(k) || hasLoneSurrogate(params[k]));
    if (field !== undefined) {
      const named = hasLoneSurrogate(field) ? 'params' : field;
      return { ok: false, response: errorResponse(replyId, invalidArgument(named, `holds a lone UTF-16 surrogate (\\ud800-\\udfff without its pair), which UTF-8 cannot store; send well-formed Unicode`)) };
    }
    if (hasLoneSurrogate(msg)) return fail('invalid request: a string holds a lone UTF-16 surrogate (\\ud800-\\udfff without its pair); send well-formed Unicode');
  }
  const request: RpcRequest = { jsonrpc: '2.0', method };
  if (hasId) request.id = replyId;
  if (params !== undefined) request.params = params;
  return { ok: true, request };
}

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether any key or string in a parsed value is not well-formed UTF-16. Such a string cannot be
 * stored as UTF-8 without being changed (two such keys would become one), so it is refused rather
 * than silently altered. The
 * walk uses its own stack: parsed JSON can be nested deeper than the call stack allows.
 */
function hasLoneSurrogate(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) return true;
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (typeof v === 'object' && v !== null) {
      for (const key of Object.keys(v)) {
        if (LONE_SURROGATE.test(key)) return true;
        stack.push((v as Record<string, unknown>)[key]);
      }
    }
  }
  return false;
}

export function isMethod(name: string): name is Method {
  return (METHODS as readonly string[]).includes(name);
}

export function methodNotFound(id: RpcId, method: string): RpcResponse {
  const shown = method.length > 64 ? `${method.slice(0, 64)}…` : method;
  return { jsonrpc: '2.0', id, error: { code: RPC_METHOD_NOT_FOUND, message: `unknown method "${shown}"; see SPEC §6 for the methods`, data: { code: 'BAD_REQUEST', field: 'method' } } };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Own properties only: a field the message does not carry is never read from a prototype. */
export function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

// ── param shapes ─────────────────────────────────────────────────────────────────────────────
// Only JSON types are checked here (BAD_REQUEST naming the field); ranges and meanings are the
// Runtime's to judge, so the socket and the library refuse the same values the same way.

export type Params = Record<string, unknown>;

function wrongType(field: string, expected: string, got: unknown): SpindleError {
  const shown = got === null ? 'null' : Array.isArray(got) ? 'an array' : typeof got;
  return new SpindleError('BAD_REQUEST', `${field} must be ${expected}, got ${shown}`, { field });
}

/**
 * Longest string a client may put in a named field unless the field says less. Strings are
 * checked here, before anything else reads them, so no client-supplied text of a megabyte reaches
 * a cache, a store key or an error message.
 */
export const MAX_FIELD_CHARS = 256;
/** Longest JSON-RPC id echoed back. */
export const MAX_RPC_ID_CHARS = 256;

function tooLong(field: string, length: number, maxLength: number): SpindleError {
  return invalidArgument(field, `at most ${maxLength} characters, got ${length}`);
}

export function requiredString(params: Params, field: string, maxLength = MAX_FIELD_CHARS): string {
  const v = own(params, field);
  if (typeof v !== 'string') throw wrongType(field, 'a string', v);
  if (v.length > maxLength) throw tooLong(field, v.length, maxLength);
  return v;
}

export function optionalString(params: Params, field: string, maxLength = MAX_FIELD_CHARS): string | undefined {
  const v = own(params, field);
  if (v !== undefined && typeof v !== 'string') throw wrongType(field, 'a string', v);
  if (v !== undefined && v.length > maxLength) throw tooLong(field, v.length, maxLength);
  return v;
}

export function optionalNumber(params: Params, field: string): number | undefined {
  const v = own(params, field);
  if (v !== undefined && typeof v !== 'number') throw wrongType(field, 'a number', v);
  return v;
}

export function optionalBoolean(params: Params, field: string): boolean | undefined {
  const v = own(params, field);
  if (v !== undefined && typeof v !== 'boolean') throw wrongType(field, 'a boolean', v);
  return v;
}

export function requiredArray(params: Params, field: string, maxLength: number): unknown[] {
  const v = own(params, field);
  if (!Array.isArray(v)) throw wrongType(field, 'an array', v);
  if (v.length > maxLength) throw new SpindleError('BAD_REQUEST', `${field} holds ${v.length} entries, over the limit of ${maxLength}; send it in parts`, { field, limit: maxLength });
  return v;
}

export function optionalStringArray(params: Params, field: string, maxItems: number, maxLength = MAX_FIELD_CHARS): string[] | undefined {
  const v = own(params, field);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw wrongType(field, 'an array of strings', v);
  if (v.length > maxItems) throw invalidArgument(field, `at most ${maxItems} entries, got ${v.length}`);
  const long = (v as string[]).find((s) => s.length > maxLength);
  if (long !== undefined) throw tooLong(field, long.length, maxLength);
  return v as string[];
}
