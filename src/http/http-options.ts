import { isIP } from 'node:net';
import { invalidArgument } from '../errors.js';
import { parseInteger } from '../duration.js';

/** `Runtime.start({ http })`: `[HOST:]PORT` as text or a port number, or these fields. */
export interface HttpOptions {
  /** Where to listen (default 127.0.0.1: only this machine). */
  host?: string;
  /** TCP port; 0 takes any free one (its number is in `<data>/http.json`). */
  port: number;
  /** Refuse every write (403 READ_ONLY): the API reads, /events and /metrics only (default false). */
  readOnly?: boolean;
  /** Unsent bytes one /events stream may hold before its events are dropped (default 8 MiB). */
  maxPendingEventBytes?: number;
}

export interface ResolvedHttpOptions {
  readonly host: string;
  readonly port: number;
  readonly readOnly: boolean;
  readonly maxPendingEventBytes: number;
}

export const HTTP_DEFAULTS = {
  host: '127.0.0.1',
  maxPendingEventBytes: 8 * 1024 * 1024,
} as const;

const HOSTNAME_RE = /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/;

/**
 * `8080`, `"8080"`, `"0.0.0.0:8080"`, `"[::1]:8080"` or `{ host?, port, readOnly? }` into resolved
 * options; false or absent: no HTTP server (null). Errors: INVALID_ARGUMENT naming `http`.
 */
export function resolveHttpOptions(input: boolean | number | string | HttpOptions | undefined): ResolvedHttpOptions | null {
  if (input === undefined || input === false) return null;
  if (input === true) throw invalidArgument('http', 'give a port, "HOST:PORT" or { host, port }');
  const fields: HttpOptions = typeof input === 'object' && input !== null ? input : parseHttpAddress(input);
  const host = fields.host ?? HTTP_DEFAULTS.host;
  if (typeof host !== 'string' || (isIP(host) === 0 && !HOSTNAME_RE.test(host))) throw invalidArgument('http.host', `${JSON.stringify(host)} is not an IP address or a host name`);
  return Object.freeze({
    host,
    port: parseInteger(fields.port, 'http.port', 0, 65_535),
    readOnly: readOnlyOf(fields.readOnly),
    maxPendingEventBytes: fields.maxPendingEventBytes === undefined ? HTTP_DEFAULTS.maxPendingEventBytes
      : parseInteger(fields.maxPendingEventBytes, 'http.maxPendingEventBytes', 64 * 1024, 1024 * 1024 * 1024),
  });
}

/** `8080`, `"8080"`, `"HOST:8080"`, `"[IPv6]:8080"` → `{ host?, port }`; errors: INVALID_ARGUMENT naming `http`. */
export function parseHttpAddress(value: unknown): { host?: string; port: number } {
  if (typeof value === 'number') return { port: value };
  if (typeof value !== 'string') throw invalidArgument('http', `must be a port, "HOST:PORT" or { host, port }, got ${typeof value}`);
  const m = /^(?:\[([0-9a-fA-F:.]+)\]:|([^:[\]]+):)?(\d{1,5})$/.exec(value.trim());
  if (m === null) throw invalidArgument('http', `${JSON.stringify(value.slice(0, 80))} is not [HOST:]PORT; e.g. 8080, 127.0.0.1:8080 or [::1]:8080`);
  const host = m[1] ?? m[2];
  return { ...(host !== undefined ? { host } : {}), port: Number(m[3]) };
}

/** The host part of a URL for a listening address: brackets for IPv6, loopback for a wildcard. */
export function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return isIP(host) === 6 ? `[${host}]` : host;
}

function readOnlyOf(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalidArgument('http.readOnly', `must be true or false, got ${typeof value}`);
  return value;
}
