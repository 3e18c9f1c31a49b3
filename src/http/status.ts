import type { ServerResponse } from 'node:http';
import { type ClientErrorCode, type HttpErrorCode, SpindleError } from '../errors.js';

/**
 * The HTTP status of every code an HTTP client can get: one table, so the API answers the same
 * status for the same code wherever it is raised (README, Dashboard and metrics).
 */
export const HTTP_STATUS: Record<ClientErrorCode | HttpErrorCode, number> = {
  BAD_REQUEST: 400,
  INVALID_ARGUMENT: 400,
  UNKNOWN_TYPE: 400,
  INVALID_PARAMS: 400,
  INVALID_SCHEDULE: 400,
  UNAUTHORIZED: 401,
  READ_ONLY: 403,
  CROSS_SITE_REQUEST: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  FRAME_TIMEOUT: 408,
  KEY_CONFLICT: 409,
  INVALID_STATE: 409,
  CONFIRMATION_INVALID: 409,
  PAYLOAD_TOO_LARGE: 413,
  FRAME_TOO_LARGE: 413,
  BODY_TOO_LARGE: 413,
  QUEUE_FULL: 429,
  INTERNAL: 500,
  TOO_MANY_CONNECTIONS: 503,
  STORE_UNAVAILABLE: 503,
  STORE_CORRUPT: 503,
  SHUTTING_DOWN: 503,
};

/** Headers on every answer: nothing cached, nothing sniffed, never framed, no Referer (a URL may hold the token). */
export const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'self'; frame-ancestors 'none'",
} as const;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...COMMON_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * `{ "error": { code, message, …details } }` with the code's status. Anything but a SpindleError
 * is a bug: the client gets INTERNAL and nothing else, the caller logs the rest.
 */
export function errorBody(err: unknown): { status: number; body: { error: Record<string, unknown> } } {
  if (err instanceof SpindleError) {
    const status = (HTTP_STATUS as Record<string, number>)[err.code] ?? 500;
    return { status, body: { error: { ...err.details, code: err.code, message: err.message } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error; the runtime log has the details' } } };
}

export function sendError(res: ServerResponse, err: unknown, headers: Record<string, string> = {}): void {
  const { status, body } = errorBody(err);
  const extra: Record<string, string> = { ...headers };
  if (status === 401) extra['www-authenticate'] = 'Bearer realm="spindle"';
  if (status === 429 || status === 503) extra['retry-after'] = '1';
  sendJson(res, status, body, extra);
}
