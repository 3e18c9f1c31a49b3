import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, startRuntime, tempDir } from '../helpers/runtime.js';
import { type HttpRuntime, startHttpRuntime } from './http-helpers.js';

let h: HttpRuntime;

beforeAll(async () => {
  h = await startHttpRuntime();
});

afterAll(async () => {
  await h?.runtime.stop();
  removeTempDirs();
});

describe('the HTTP token', () => {
  it('is made at start in <data>/http.token with mode 0600', () => {
    const st = statSync(join(h.runtime.options.data, 'http.token'));
    expect(st.mode & 0o777).toBe(0o600);
    expect(h.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('is not needed for GET /healthz', async () => {
    const res = await fetch(`${h.base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'running' });
  });

  it('is needed for the API, the events and the metrics: without it, 401 UNAUTHORIZED', async () => {
    for (const path of ['/api/stats', '/api/tasks', '/events', '/metrics', '/']) {
      const res = await fetch(`${h.base}${path}`);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    }
  });

  it('refuses a wrong token with 401, however close it is', async () => {
    const wrong = `${h.token.slice(0, -1)}${h.token.endsWith('A') ? 'B' : 'A'}`;
    for (const auth of [`Bearer ${wrong}`, `Bearer ${h.token}x`, 'Bearer ', h.token, `Basic ${h.token}`]) {
      const res = await fetch(`${h.base}/api/stats`, { headers: { authorization: auth } });
      expect(res.status, auth).toBe(401);
    }
  });

  it('lets a Bearer token through', async () => {
    const { status, body } = await h.json('/api/stats');
    expect(status).toBe(200);
    expect(body.workers.size).toBe(2);
  });
});

describe('the dashboard cookie', () => {
  it('is set by opening /?token=TOKEN, which answers 303 to the same URL without the token', async () => {
    const res = await fetch(`${h.base}/?token=${encodeURIComponent(h.token)}&view=queued`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/?view=queued');
    const cookie = res.headers.getSetCookie();
    expect(cookie).toHaveLength(1);
    expect(cookie[0]).toMatch(/; HttpOnly/);
    expect(cookie[0]).toMatch(/; SameSite=Strict/);
    expect(cookie[0]).toMatch(/; Path=\//);
    expect(cookie[0]).not.toContain(h.token);
  });

  it('then lets the browser in without the header', async () => {
    const login = await fetch(`${h.base}/?token=${encodeURIComponent(h.token)}`, { redirect: 'manual' });
    const pair = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const page = await fetch(`${h.base}/`, { headers: { cookie: pair } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const stats = await fetch(`${h.base}/api/stats`, { headers: { cookie: pair } });
    expect(stats.status).toBe(200);
  });

  it('is not given for a wrong token', async () => {
    const res = await fetch(`${h.base}/?token=nope`, { redirect: 'manual' });
    expect(res.status).toBe(401);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it('is not the token: sent as a Bearer token it is refused', async () => {
    const login = await fetch(`${h.base}/?token=${encodeURIComponent(h.token)}`, { redirect: 'manual' });
    const value = login.headers.getSetCookie()[0]!.split(';')[0]!.split('=')[1]!;
    const res = await fetch(`${h.base}/api/stats`, { headers: { authorization: `Bearer ${value}` } });
    expect(res.status).toBe(401);
  });
});

describe('a cross-site write', () => {
  it('is refused with 403 CROSS_SITE_REQUEST when the browser says Sec-Fetch-Site: cross-site', async () => {
    const { status, body } = await h.json('/api/tasks', { body: { type: 'echo' }, headers: { 'sec-fetch-site': 'cross-site' } });
    expect(status).toBe(403);
    expect(body.error.code).toBe('CROSS_SITE_REQUEST');
    expect((await h.runtime.list({ type: 'echo' })).tasks).toEqual([]);
  });

  it('is refused with 403 when only an Origin other than the server\'s says so', async () => {
    const { status, body } = await h.json('/api/tasks', { body: { type: 'echo' }, headers: { origin: 'https://evil.example' } });
    expect(status).toBe(403);
    expect(body.error.code).toBe('CROSS_SITE_REQUEST');
  });

  it('is let through from the same origin', async () => {
    const { status } = await h.json('/api/tasks', { body: { type: 'echo', params: { n: 1 } }, headers: { origin: h.base, 'sec-fetch-site': 'same-origin' } });
    expect(status).toBe(200);
  });
});

describe('a read-only HTTP server', () => {
  let ro: HttpRuntime;

  beforeAll(async () => {
    ro = await startHttpRuntime({ readOnly: true });
  });

  afterAll(async () => {
    await ro?.runtime.stop();
  });

  it('refuses every write with 403 READ_ONLY', async () => {
    const task = await ro.runtime.submit({ type: 'sleep', params: { ms: 60_000 } });
    for (const [path, body] of [['/api/tasks', { type: 'echo' }], [`/api/tasks/${task.id}/cancel`, {}], [`/api/tasks/${task.id}/pause`, {}], ['/api/bulk/cancel', {}]] as const) {
      const { status, body: answer } = await ro.json(path, { body });
      expect(status, path).toBe(403);
      expect(answer.error.code).toBe('READ_ONLY');
    }
    expect((await ro.runtime.get(task.id)).state).toBe('running');
  });

  it('answers reads', async () => {
    expect((await ro.json('/api/stats')).status).toBe(200);
    expect((await ro.json('/api/tasks')).status).toBe(200);
    expect((await ro.json('/api/preview', { body: { schedule: { every: '1m', start: '2027-01-01T00:00:00Z' }, count: 2, after: '2027-01-01T00:00:00Z' } })).body)
      .toEqual({ times: ['2027-01-01T00:01:00.000Z', '2027-01-01T00:02:00.000Z'] });
    expect((await ro.call('/metrics')).status).toBe(200);
  });
});

describe('an HTTP address that cannot be listened on', () => {
  it('fails the start with HTTP_LISTEN_FAILED and leaves nothing open: the data directory starts again', async () => {
    const data = tempDir();
    const port = h.runtime.http!.address.port;
    const err = await startRuntime({ data, http: { port } }).then(() => null, (e: unknown) => e);
    expect((err as { code?: string })?.code).toBe('HTTP_LISTEN_FAILED');
    const again = await startRuntime({ data, http: { port: 0 } });
    expect(again.http!.address.port).not.toBe(port);
    await again.stop();
  });
});
