import type { ListOptions, RuntimeApi } from '../api/runtime-api.js';
import { invalidArgument, SpindleError } from '../errors.js';
import { isPlainObject, MAX_SUBMIT_MANY, own } from '../ipc/protocol.js';
import { previewSchedule } from '../schedule/index.js';
import { BulkActions, type BulkAction, BULK_ACTIONS } from './bulk.js';

/** What a route handler gets: the runtime, the path's captures, the query, and the body on demand. */
export interface ApiRequest {
  runtime: RuntimeApi;
  bulk: BulkActions;
  params: readonly string[];
  query: URLSearchParams;
  body(): Promise<unknown>;
}

export interface ApiRoute {
  method: 'GET' | 'POST';
  path: RegExp;
  /** The protocol method it mirrors (its label in spindle_rpc_requests_total and the audit log). */
  rpc: string | ((params: readonly string[]) => string);
  /** Changes tasks: refused in read-only mode, written to the audit log. */
  write: boolean;
  /** The first capture is a task id (for the audit line of a refused write). */
  byId?: true;
  run(req: ApiRequest): Promise<unknown> | unknown;
}

const ID = '([^/]{1,128})';
const CONTROLS = { cancel: 'task.cancel', pause: 'task.pause', resume: 'task.resume', 'run-now': 'task.runNow' } as const;
type Control = keyof typeof CONTROLS;

/**
 * The JSON API: the socket protocol's methods as routes, answering the same objects (SPEC §6) and
 * refusing the same values with the same codes; the runtime does the judging, this only reads
 * the path, the query and the body into the arguments the protocol would carry.
 */
export const API_ROUTES: readonly ApiRoute[] = [
  {
    method: 'GET', path: /^\/api\/tasks$/, rpc: 'task.list', write: false,
    run: ({ runtime, query }) => {
      const q = readQuery(query, ['state', 'type', 'limit', 'cursor']);
      return runtime.list({
        ...(q.state !== undefined ? { state: q.state as NonNullable<ListOptions['state']> } : {}),
        ...(q.type !== undefined ? { type: q.type } : {}),
        ...(q.limit !== undefined ? { limit: wholeNumber(q.limit, 'limit') } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      });
    },
  },
  {
    method: 'POST', path: /^\/api\/tasks$/, rpc: 'task.submit', write: true,
    run: async ({ runtime, body }) => {
      const b = await body();
      if (Array.isArray(b)) {
        if (b.length > MAX_SUBMIT_MANY) throw new SpindleError('BAD_REQUEST', `the body holds ${b.length} tasks, over the limit of ${MAX_SUBMIT_MANY}; send it in parts`, { field: 'tasks', limit: MAX_SUBMIT_MANY });
        return runtime.submitMany(b);
      }
      if (!isPlainObject(b)) throw new SpindleError('BAD_REQUEST', 'the body must be one submit object or an array of them', { field: 'body' });
      return runtime.submit(b);
    },
  },
  {
    method: 'GET', path: /^\/api\/pending$/, rpc: 'task.pending', write: false,
    run: ({ runtime, query }) => {
      const q = readQuery(query, ['type', 'limit']);
      return runtime.pending({ ...(q.type !== undefined ? { type: q.type } : {}), ...(q.limit !== undefined ? { limit: wholeNumber(q.limit, 'limit') } : {}) });
    },
  },
  { method: 'GET', path: new RegExp(`^/api/tasks/${ID}$`), rpc: 'task.get', write: false, run: ({ runtime, params, query }) => (readQuery(query, []), runtime.get(params[0]!)) },
  { method: 'GET', path: new RegExp(`^/api/tasks/${ID}/runs$`), rpc: 'task.runs', write: false, run: ({ runtime, params, query }) => (readQuery(query, []), runtime.runs(params[0]!)) },
  { method: 'GET', path: new RegExp(`^/api/tasks/${ID}/history$`), rpc: 'task.history', write: false, run: ({ runtime, params, query }) => (readQuery(query, []), runtime.history(params[0]!)) },
  {
    method: 'POST', path: new RegExp(`^/api/tasks/${ID}/(cancel|pause|resume|run-now)$`), rpc: (p) => CONTROLS[p[1] as Control], write: true, byId: true,
    run: async ({ runtime, params, body }) => {
      const b = await body();
      if (b !== undefined && !(isPlainObject(b) && Object.keys(b).length === 0)) throw new SpindleError('BAD_REQUEST', 'a control takes no body (or {})', { field: 'body' });
      const id = params[0]!;
      switch (params[1] as Control) {
        case 'cancel': return runtime.cancel(id);
        case 'pause': return runtime.pause(id);
        case 'resume': return runtime.resume(id);
        case 'run-now': return runtime.runNow(id);
      }
    },
  },
  { method: 'GET', path: /^\/api\/stats$/, rpc: 'runtime.stats', write: false, run: ({ runtime, query }) => (readQuery(query, []), runtime.stats()) },
  { method: 'GET', path: /^\/api\/types$/, rpc: 'type.list', write: false, run: ({ runtime, query }) => (readQuery(query, []), runtime.types()) },
  { method: 'GET', path: /^\/api\/overview$/, rpc: 'dashboard.overview', write: false, run: ({ runtime, query }) => (readQuery(query, []), runtime.overview()) },
  {
    method: 'GET', path: /^\/api\/series$/, rpc: 'dashboard.series', write: false,
    run: ({ runtime, query }) => {
      const q = readQuery(query, ['type', 'range']);
      return runtime.series({ ...(q.type !== undefined ? { type: q.type } : {}), ...(q.range !== undefined ? { range: q.range } : {}) });
    },
  },
  {
    method: 'GET', path: /^\/api\/search$/, rpc: 'dashboard.search', write: false,
    run: ({ runtime, query }) => {
      const q = readQuery(query, ['id', 'type', 'from', 'to', 'text', 'limit', 'cursor']);
      return runtime.search({
        ...(q.id !== undefined ? { idPrefix: q.id } : {}),
        ...(q.type !== undefined ? { type: q.type } : {}),
        ...(q.from !== undefined ? { from: q.from } : {}),
        ...(q.to !== undefined ? { to: q.to } : {}),
        ...(q.text !== undefined ? { text: q.text } : {}),
        ...(q.limit !== undefined ? { limit: wholeNumber(q.limit, 'limit') } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      });
    },
  },
  {
    method: 'POST', path: /^\/api\/preview$/, rpc: 'schedule.preview', write: false,
    run: async ({ runtime, body }) => {
      const b = await body();
      if (!isPlainObject(b)) throw new SpindleError('BAD_REQUEST', 'the body must be { schedule, count, after? }', { field: 'body' });
      const count = own(b, 'count');
      if (typeof count !== 'number') throw new SpindleError('BAD_REQUEST', 'count must be a number', { field: 'count' });
      const after = own(b, 'after');
      if (after !== undefined && typeof after !== 'string') throw new SpindleError('BAD_REQUEST', 'after must be a string', { field: 'after' });
      const now = runtime.options.clock.now();
      const afterMs = after === undefined ? now : Date.parse(after);
      if (Number.isNaN(afterMs)) throw invalidArgument('after', 'must be an ISO-8601 instant such as "2026-01-01T00:00:00Z"');
      return { times: previewSchedule(own(b, 'schedule'), count, afterMs, now).map((t) => new Date(t).toISOString()) };
    },
  },
  {
    method: 'POST', path: new RegExp(`^/api/bulk/(${BULK_ACTIONS.join('|')})$`), rpc: (p) => `bulk.${p[0]!}`, write: true,
    run: async ({ bulk, params, body }) => {
      const { confirm, ...filter } = BulkActions.parse(await body());
      const action = params[0] as BulkAction;
      return confirm === undefined ? bulk.preview(action, filter) : bulk.act(action, filter, confirm);
    },
  },
];

/** The query's fields, each once; an unknown one is refused (a typo must not widen a list). */
function readQuery(query: URLSearchParams, allowed: readonly string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of query) {
    if (!allowed.includes(key)) {
      throw new SpindleError('BAD_REQUEST', allowed.length === 0 ? `this route takes no query parameters, got ${JSON.stringify(key)}` : `unknown query parameter ${JSON.stringify(key)}; this route takes ${allowed.join(', ')}`, { field: key });
    }
    if (Object.hasOwn(out, key)) throw new SpindleError('BAD_REQUEST', `query parameter ${key} is given twice`, { field: key });
    out[key] = value;
  }
  return out;
}

function wholeNumber(text: string, field: string): number {
  if (!/^\d{1,15}$/.test(text)) throw new SpindleError('BAD_REQUEST', `${field} must be a whole number, got ${JSON.stringify(text.slice(0, 40))}`, { field });
  return Number(text);
}

/** The route for a path and method: `match` null when no route has the path; `allowed` its methods. */
export function findRoute(method: string, path: string): { route: ApiRoute; params: string[] } | { route: null; allowed: string[] } {
  const allowed: string[] = [];
  for (const route of API_ROUTES) {
    const m = route.path.exec(path);
    if (m === null) continue;
    if (route.method === method) return { route, params: m.slice(1).map(decodePart) };
    allowed.push(route.method);
  }
  return { route: null, allowed };
}

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new SpindleError('BAD_REQUEST', 'the path holds a malformed %-escape', { field: 'path' });
  }
}
