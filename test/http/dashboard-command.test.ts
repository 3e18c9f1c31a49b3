import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Background, CLI, spindle, startRuntime } from '../helpers/cli.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir } from '../helpers/runtime.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PROBE = fileURLToPath(new URL('../fixtures/load-probe/probe.mjs', import.meta.url));

let data: string;
let runtime: Background;

beforeAll(async () => {
  data = tempDir();
  runtime = await startRuntime(data, FIXTURE_TASKS, ['--http', '127.0.0.1:0']);
});

afterAll(async () => {
  if (runtime.child.exitCode === null) {
    runtime.child.kill('SIGTERM');
    await runtime.exited;
  }
  removeTempDirs();
});

describe('spindle start --http', () => {
  it('writes <data>/http.json with the address, and http.token with mode 0600', () => {
    const address = JSON.parse(readFileSync(join(data, 'http.json'), 'utf8')) as { url: string; port: number; pid: number };
    expect(address.url).toBe(`http://127.0.0.1:${address.port}/`);
    expect(address.pid).toBe(runtime.child.pid);
  });
});

describe('spindle dashboard', () => {
  it('prints the URL that logs a browser in: opening it answers 303 with the cookie', async () => {
    const ran = await spindle(['dashboard', '--data', data]);
    expect(ran.code).toBe(0);
    const url = ran.stdout.trim();
    const token = readFileSync(join(data, 'http.token'), 'utf8').trim();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
    expect(new URL(url).searchParams.get('token')).toBe(token);
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.getSetCookie()[0]).toMatch(/HttpOnly; SameSite=Strict/);
  });

  it('loads commander and none of the runtime\'s modules', () => {
    const out = join(tempDir(), 'loaded.jsonl');
    writeFileSync(out, '');
    execFileSync(process.execPath, ['--import', PROBE, CLI, 'dashboard', '--data', data], { cwd: ROOT, env: { ...process.env, LOAD_PROBE_OUT: out }, stdio: 'pipe' });
    const files = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { url?: string; cjs?: string; addon?: string })
      .map((r) => r.url?.replace(/^file:\/\//, '') ?? r.cjs ?? r.addon ?? '');
    const packages = [...new Set(files.flatMap((f) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1] ?? []))];
    expect(packages).toEqual(['commander']);
    const own = files.filter((f) => f.startsWith(ROOT) && !f.includes('/node_modules/'));
    expect(own.filter((f) => /\/dist\/src\/(runtime|store|executor)\/|\/dist\/src\/supervisor\/supervisor\.js$|\/dist\/src\/http\/(http-server|metrics)\.js$/.test(f))).toEqual([]);
  });

  it('says so when no runtime serves HTTP there (exit 1, RUNTIME_UNREACHABLE)', async () => {
    const ran = await spindle(['dashboard', '--data', tempDir()]);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/^spindle: RUNTIME_UNREACHABLE: .*--http PORT/);
  });
});

describe('spindle start --http-read-only', () => {
  it('is refused without --http (exit 2, INVALID_OPTION)', async () => {
    const ran = await spindle(['start', '--data', tempDir(), '--tasks', FIXTURE_TASKS, '--http-read-only']);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toMatch(/INVALID_OPTION/);
  });

  it('serves reads and refuses writes with 403 READ_ONLY', async () => {
    const dir = tempDir();
    const ro = await startRuntime(dir, FIXTURE_TASKS, ['--http', '0', '--http-read-only']);
    try {
      const { url } = JSON.parse(readFileSync(join(dir, 'http.json'), 'utf8')) as { url: string };
      const headers = { authorization: `Bearer ${readFileSync(join(dir, 'http.token'), 'utf8').trim()}` };
      expect((await fetch(`${url}api/stats`, { headers })).status).toBe(200);
      const res = await fetch(`${url}api/tasks`, { method: 'POST', headers, body: JSON.stringify({ type: 'echo' }) });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('READ_ONLY');
    } finally {
      ro.child.kill('SIGTERM');
      await ro.exited;
    }
  });
});

describe('spindle stop', () => {
  it('closes the HTTP server and removes http.json', async () => {
    const { url } = JSON.parse(readFileSync(join(data, 'http.json'), 'utf8')) as { url: string };
    const ran = await spindle(['stop', '--data', data]);
    expect(ran.code).toBe(0);
    await runtime.exited;
    expect(existsSync(join(data, 'http.json'))).toBe(false);
    await expect(fetch(`${url}healthz`)).rejects.toThrow();
  });
});
