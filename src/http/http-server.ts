import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { type HttpAddress, removeAddressFile, writeAddressFile } from '../api/address-file.js';
import { EVENT_NAMES, type EventFilter, type EventName } from '../api/events.js';
import type { RuntimeApi } from '../api/runtime-api.js';
import { invalidArgument, SpindleError } from '../errors.js';
import { type ApiRequest, findRoute } from './api-routes.js';
import { HttpAuth, isCrossSite } from './auth.js';
import { readJsonBody } from './body.js';
import { BulkActions } from './bulk.js';
import { EventStream } from './event-stream.js';
import { urlHost } from './http-options.js';
import type { RuntimeMetrics } from './metrics.js';
import { loadPageFiles, packageVersion, type StaticFile } from './package-files.js';
import { COMMON_HEADERS, sendError, sendJson } from './status.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  readOnly: boolean;
  token: string;
  /** Largest request body, in bytes (the socket's frame cap). */
  maxBodyBytes: number;
  maxPendingEventBytes: number;
  /** Connections served at once, /events streams included. */
  maxConnections: number;
  /** Where `http.json` goes. */
  dataDir: string;
  metrics: RuntimeMetrics;
  log: Logger;
}

export const HTTP_SERVER_DEFAULTS = {
  /** A comment line on every /events stream this often. */
  pingMs: 15_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  /** Task ids written per audit line; past it the line says how many more. */
  auditIds: 1000,
} as const;

/**
 * The runtime's HTTP server (README, Dashboard and metrics): `/healthz` for anyone; for holders of
 * the token, the dashboard page at `/`, the JSON API under `/api/`, server-sent events at
 * `/events` and Prometheus text at `/metrics`. Plain node:http: a dozen routes, one auth rule and
 * a streaming response need no framework.
 */
export class HttpServer {
  readonly address: HttpAddress;
  readonly #server: Server;
  readonly #o: HttpServerOptions;
  readonly #streams = new Set<EventStream>();
  readonly #ping: NodeJS.Timeout;
  #closed: Promise<void> | null = null;

  private constructor(server: Server, address: HttpAddress, options: HttpServerOptions) {
    this.#server = server;
    this.address = address;
    this.#o = options;
    this.#ping = setInterval(() => { for (const s of this.#streams) s.ping(); }, HTTP_SERVER_DEFAULTS.pingMs);
    this.#ping.unref();
  }

  /** Errors: HTTP_LISTEN_FAILED (address in use, not this machine's, not allowed). */
  static async listen(runtime: RuntimeApi, options: HttpServerOptions): Promise<HttpServer> {
    const log = options.log.child({ component: 'http' });
    const server = createServer({ headersTimeout: HTTP_SERVER_DEFAULTS.headersTimeoutMs, requestTimeout: HTTP_SERVER_DEFAULTS.requestTimeoutMs });
    server.maxConnections = options.maxConnections;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(new SpindleError('HTTP_LISTEN_FAILED', `cannot listen on ${options.host}:${options.port} (${err.code ?? err.message}); pick another port or host for --http`, { host: options.host, port: options.port, errno: err.code }, err));
      });
      server.listen(options.port, options.host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const address: HttpAddress = { url: `http://${urlHost(options.host)}:${port}/`, host: options.host, port, readOnly: options.readOnly, pid: process.pid };
    const http = new HttpServer(server, address, { ...options, log, port });
    const ctx: Context = { runtime, auth: new HttpAuth(options.token, port), bulk: new BulkActions(runtime), http, page: loadPageFiles(), version: packageVersion(), o: { ...options, log, port } };
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      handle(ctx, req, res).catch((err: unknown) => {
        log.error({ err }, 'http request failed');
        if (!res.headersSent) sendError(res, err);
        else res.destroy();
      });
    });
    server.on('error', (err) => log.error({ err }, 'http server error'));
    try {
      writeAddressFile(options.dataDir, address);
    } catch (err) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw err;
    }
    log.info({ url: address.url, readOnly: options.readOnly }, 'http listening');
    return http;
  }

  /** The open /events streams: unsent bytes and events dropped, each. */
  get eventStreams(): Array<{ pendingBytes: number; dropped: number }> {
    return [...this.#streams].map((s) => ({ pendingBytes: s.pendingBytes, dropped: s.droppedTotal }));
  }

  /** @internal */
  addStream(stream: EventStream): void {
    this.#streams.add(stream);
  }

  /** @internal */
  removeStream(stream: EventStream): void {
    this.#streams.delete(stream);
  }

  /** Stops listening, ends the event streams, drops the connections, removes `http.json`. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      clearInterval(this.#ping);
      for (const s of this.#streams) s.close();
      this.#streams.clear();
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#server.closeAllConnections();
      await closed;
      removeAddressFile(this.#o.dataDir, this.address);
    })();
    return this.#closed;
  }
}

interface Context {
  runtime: RuntimeApi;
  auth: HttpAuth;
  bulk: BulkActions;
  http: HttpServer;
  /** The dashboard page's files by route (`/`, `/assets/…`). */
  page: ReadonlyMap<string, StaticFile>;
  version: string;
  o: HttpServerOptions;
}

async function handle(ctx: Context, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://spindle.invalid');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  if (path === '/healthz') {
    if (method !== 'GET') return sendError(res, notAllowed(['GET']), { allow: 'GET' });
    const status = ctx.runtime.status;
    return sendJson(res, status === 'running' ? 200 : 503, { status });
  }
  if (path === '/' && method === 'GET' && url.searchParams.has('token')) return login(ctx, url, res);
  if (!ctx.auth.allows(req)) {
    return sendError(res, new SpindleError('UNAUTHORIZED', 'this needs the token: `Authorization: Bearer TOKEN` (the token is in <data>/http.token), or open the URL `spindle dashboard` prints'));
  }
  const file = ctx.page.get(path);
  if (file !== undefined) {
    if (method !== 'GET') return sendError(res, notAllowed(['GET']), { allow: 'GET' });
    res.writeHead(200, { ...COMMON_HEADERS, 'content-type': file.contentType, 'content-length': file.body.length });
    res.end(file.body);
    return;
  }
  if (path === '/api/info') {
    if (method !== 'GET') return sendError(res, notAllowed(['GET']), { allow: 'GET' });
    if (url.search !== '') return sendError(res, new SpindleError('BAD_REQUEST', 'this route takes no query parameters', { field: 'query' }));
    return sendJson(res, 200, { version: ctx.version, readOnly: ctx.o.readOnly });
  }
  if (path === '/metrics') {
    if (method !== 'GET') return sendError(res, notAllowed(['GET']), { allow: 'GET' });
    const { contentType, text } = await ctx.o.metrics.scrape();
    res.writeHead(200, { ...COMMON_HEADERS, 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  if (path === '/events') {
    if (method !== 'GET') return sendError(res, notAllowed(['GET']), { allow: 'GET' });
    return events(ctx, url, res);
  }
  if (path.startsWith('/api/')) return api(ctx, req, res, url);
  return sendError(res, new SpindleError('NOT_FOUND', `no route ${JSON.stringify(path.slice(0, 100))}; the API is under /api/ (README, Dashboard and metrics)`, { field: 'path' }));
}

/** `/?token=T`: a browser trades the token for the cookie, and the URL loses the token (303 to itself without it). */
function login(ctx: Context, url: URL, res: ServerResponse): void {
  const given = url.searchParams.getAll('token');
  if (given.length !== 1 || !ctx.auth.isToken(given[0]!)) {
    return sendError(res, new SpindleError('UNAUTHORIZED', 'wrong token; open the URL `spindle dashboard` prints', { field: 'token' }));
  }
  url.searchParams.delete('token');
  const rest = url.searchParams.toString();
  res.writeHead(303, { ...COMMON_HEADERS, location: rest === '' ? '/' : `/?${rest}`, 'set-cookie': ctx.auth.setCookie(), 'content-length': 0 });
  res.end();
}

function events(ctx: Context, url: URL, res: ServerResponse): void {
  const filter: EventFilter = {};
  for (const [key, value] of url.searchParams) {
    if (key === 'types') {
      const types = value.split(',').map((t) => t.trim()).filter((t) => t !== '');
      const unknown = types.find((t) => !(EVENT_NAMES as readonly string[]).includes(t));
      if (unknown !== undefined) return sendError(res, invalidArgument('types', `unknown event ${JSON.stringify(unknown)}; events are ${EVENT_NAMES.join(', ')}`));
      filter.types = types as EventName[];
    } else if (key === 'taskId') filter.taskId = value;
    else if (key === 'type') filter.type = value;
    else return sendError(res, new SpindleError('BAD_REQUEST', `unknown query parameter ${JSON.stringify(key)}; /events takes types, taskId and type`, { field: key }));
  }
  if (ctx.runtime.status !== 'running') return sendError(res, new SpindleError('SHUTTING_DOWN', 'the runtime is shutting down; retry once it is back'));
  const stream = new EventStream(res, (f, l) => ctx.runtime.subscribe(f, l), filter, ctx.o.maxPendingEventBytes);
  ctx.http.addStream(stream);
  res.on('close', () => ctx.http.removeStream(stream));
}

async function api(ctx: Context, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  let found: ReturnType<typeof findRoute>;
  try {
    found = findRoute(req.method ?? 'GET', url.pathname);
  } catch (err) {
    return sendError(res, err);
  }
  if (found.route === null) {
    if (found.allowed.length > 0) return sendError(res, notAllowed(found.allowed), { allow: found.allowed.join(', ') });
    return sendError(res, new SpindleError('NOT_FOUND', `no API route ${JSON.stringify(url.pathname.slice(0, 100))} (README, Dashboard and metrics)`, { field: 'path' }));
  }
  const { route, params } = found;
  const rpc = typeof route.rpc === 'string' ? route.rpc : route.rpc(params);
  const client = req.socket.remoteAddress ?? null;
  let result: unknown;
  try {
    if (req.method !== 'GET' && isCrossSite(req)) {
      throw new SpindleError('CROSS_SITE_REQUEST', 'refused: this write comes from another site\'s page (Origin / Sec-Fetch-Site); use the dashboard itself, or a client that is not a browser');
    }
    if (route.write && ctx.o.readOnly) throw new SpindleError('READ_ONLY', 'this runtime serves HTTP read-only (--http-read-only): use the socket (spindle CLI) to change tasks');
    const request: ApiRequest = { runtime: ctx.runtime, bulk: ctx.bulk, params, query: url.searchParams, body: () => readJsonBody(req, ctx.o.maxBodyBytes) };
    result = await route.run(request);
  } catch (err) {
    const code = err instanceof SpindleError ? err.code : 'INTERNAL';
    ctx.o.metrics.rpc(rpc, code);
    if (route.write) ctx.o.log.info({ audit: true, action: rpc, taskIds: route.byId === true ? [params[0]!] : [], client, code }, 'http write refused');
    if (!(err instanceof SpindleError)) ctx.o.log.error({ err, method: rpc }, 'http request failed');
    // A body left unread (refused before reading, or over the cap): close rather than read it.
    return sendError(res, err, req.complete ? {} : { connection: 'close' });
  }
  ctx.o.metrics.rpc(rpc, 'OK');
  if (route.write) {
    const ids = auditIds(result);
    ctx.o.log.info({ audit: true, action: rpc, taskIds: ids.slice(0, HTTP_SERVER_DEFAULTS.auditIds), ...(ids.length > HTTP_SERVER_DEFAULTS.auditIds ? { moreIds: ids.length - HTTP_SERVER_DEFAULTS.auditIds } : {}), client, code: 'OK' }, 'http write');
  }
  const body = route.write && isBulkResult(result) ? withoutIds(result) : result;
  sendJson(res, 200, body);
}

/** The ids a write touched: the tasks answered, or a bulk action's. */
function auditIds(result: unknown): string[] {
  if (isBulkResult(result)) return result.ids;
  if (Array.isArray(result)) return result.map((t: { id: string }) => t.id);
  if (typeof result === 'object' && result !== null && typeof (result as { id?: unknown }).id === 'string') return [(result as { id: string }).id];
  return [];
}

function isBulkResult(value: unknown): value is { ids: string[] } {
  return typeof value === 'object' && value !== null && Array.isArray((value as { ids?: unknown }).ids);
}

function withoutIds<T extends { ids: string[] }>(result: T): Omit<T, 'ids'> {
  const { ids: _ids, ...rest } = result;
  return rest;
}

function notAllowed(allowed: readonly string[]): SpindleError {
  return new SpindleError('METHOD_NOT_ALLOWED', `this route takes ${allowed.join(' or ')}`, { allowed: [...allowed] });
}
