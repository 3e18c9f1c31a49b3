import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPageFiles } from '../../src/http/package-files.js';
import { removeTempDirs } from '../helpers/runtime.js';
import { type HttpRuntime, startHttpRuntime } from './http-helpers.js';

// The page's files and GET /api/info, without a browser (dashboard-page.test.ts drives one).
// The page is built by `npm run build` into dist/dashboard, which these tests read.
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

let h: HttpRuntime;
let ro: HttpRuntime;

beforeAll(async () => {
  [h, ro] = await Promise.all([startHttpRuntime(), startHttpRuntime({ readOnly: true })]);
});

afterAll(async () => {
  await Promise.all([h?.runtime.stop(), ro?.runtime.stop()]);
  removeTempDirs();
});

describe('the dashboard page files', () => {
  it('serve / as HTML that loads its script and style as files, under a default-src \'self\' policy', async () => {
    const res = await h.call('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'self'; frame-ancestors 'none'");
    const text = await res.text();
    expect(text).toContain('<script type="module" src="/assets/app.js"></script>');
    expect(text).toContain('<link rel="stylesheet" href="/assets/app.css">');
    expect(text.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="/assets/app.js">']);
    expect(text).not.toMatch(/\sstyle=|\son[a-z]+=/);
  });

  it('serve the script, the style and the icon with their types', async () => {
    for (const [path, type] of [['/assets/app.js', 'text/javascript; charset=utf-8'], ['/assets/app.css', 'text/css; charset=utf-8'], ['/assets/favicon.svg', 'image/svg+xml']] as const) {
      const res = await h.call(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe(type);
      expect(res.headers.get('cache-control'), path).toBe('no-store');
      expect((await res.arrayBuffer()).byteLength, path).toBeGreaterThan(0);
    }
  });

  it('need the token or the cookie like every other route', async () => {
    for (const path of ['/assets/app.js', '/assets/app.css', '/api/info']) {
      expect((await fetch(`${h.base}${path}`)).status, path).toBe(401);
    }
  });

  it('answer POST with 405 METHOD_NOT_ALLOWED and an unknown asset with 404 NOT_FOUND', async () => {
    const post = await h.json('/assets/app.js', { method: 'POST', body: {} });
    expect(post.status).toBe(405);
    expect(post.body.error.code).toBe('METHOD_NOT_ALLOWED');
    const missing = await h.json('/assets/nope.js');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
  });

  it('are a placeholder saying how to build the page when the sources were never built', () => {
    const files = loadPageFiles(null);
    expect([...files.keys()]).toEqual(['/']);
    expect(files.get('/')!.body.toString()).toContain('npm run build');
  });
});

describe('GET /api/info', () => {
  it('answers the package version and whether the server is read-only', async () => {
    expect(await h.json('/api/info')).toEqual({ status: 200, body: { version, readOnly: false } });
    expect(await ro.json('/api/info')).toEqual({ status: 200, body: { version, readOnly: true } });
  });

  it('refuses a query parameter (BAD_REQUEST) and a POST (METHOD_NOT_ALLOWED)', async () => {
    const query = await h.json('/api/info?x=1');
    expect([query.status, query.body.error.code]).toEqual([400, 'BAD_REQUEST']);
    const post = await h.json('/api/info', { method: 'POST', body: {} });
    expect([post.status, post.body.error.code]).toEqual([405, 'METHOD_NOT_ALLOWED']);
  });
});
