import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HttpOptions } from '../../src/http/http-options.js';
import type { Runtime, RuntimeOptions } from '../../src/index.js';
import { startRuntime } from '../helpers/runtime.js';

export interface HttpRuntime {
  runtime: Runtime;
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  base: string;
  token: string;
  /** fetch with the Bearer token; `body` objects are sent as JSON. */
  call(path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  /** `call`, expecting a JSON answer: its status and body. */
  json<T = any>(path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: T }>;
}

/** A real runtime in-process, serving HTTP on a free loopback port. */
export async function startHttpRuntime(http: Omit<HttpOptions, 'port'> = {}, options: RuntimeOptions = {}): Promise<HttpRuntime> {
  const runtime = await startRuntime({ ...options, http: { port: 0, ...http } });
  const base = runtime.http!.address.url.replace(/\/$/, '');
  const token = readFileSync(join(runtime.options.data, 'http.token'), 'utf8').trim();
  const call = (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Response> => fetch(`${base}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${token}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) } : {}),
    redirect: 'manual',
  });
  return {
    runtime, base, token, call,
    json: async (path, init) => {
      const res = await call(path, init);
      return { status: res.status, body: (await res.json()) as any };
    },
  };
}
