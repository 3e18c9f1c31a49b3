import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/index.js';
import { type Background, spindleJson, startRuntime } from '../helpers/cli.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir } from '../helpers/runtime.js';
import { launchBrowser } from './browser.js';
import { type HttpRuntime, startHttpRuntime } from './http-helpers.js';

// The page against a real `spindle start --http` process, in a real headless chromium.
const WAIT = { timeout: 30_000 };

let data: string;
let runtime: Background;
let client: Client;
let browser: BrowserContext;
let page: Page;
let base: string;
let token: string;
/** What the page printed to its console as errors, and what it threw (a CSP refusal shows here). */
const problems: string[] = [];

beforeAll(async () => {
  data = tempDir();
  runtime = await startRuntime(data, FIXTURE_TASKS, ['--http', '127.0.0.1:0']);
  base = (JSON.parse(readFileSync(join(data, 'http.json'), 'utf8')) as { url: string }).url.replace(/\/$/, '');
  token = readFileSync(join(data, 'http.token'), 'utf8').trim();
  client = await Client.connect({ data });
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await client?.close();
  if (runtime !== undefined && runtime.child.exitCode === null) {
    runtime.child.kill('SIGTERM');
    await runtime.exited;
  }
  removeTempDirs();
});

describe('the dashboard page', () => {
  it('opens from /?token=TOKEN: the cookie logs the browser in, the URL loses the token, the stream goes live', async () => {
    await page.goto(`${base}/?token=${encodeURIComponent(token)}`);
    expect(new URL(page.url()).search).toBe('');
    await page.locator('[data-connection="live"]').waitFor(WAIT);
    await page.getByRole('heading', { name: 'Overview' }).waitFor(WAIT);
    await page.locator('.overview table.counts').waitFor(WAIT);
    expect(problems).toEqual([]);
  });

  it('shows a task submitted through the Client in the list without a reload', async () => {
    const task = await client.submit({ type: 'sleep', params: { ms: 3_600_000 } });
    const row = page.locator(`tr[data-id="${task.id}"]`);
    await row.waitFor(WAIT);
    await row.locator('.badge', { hasText: 'running' }).waitFor(WAIT);
    // The overview counts it too (same change, re-read from /api/stats).
    await page.locator('.overview tbody tr', { hasText: 'sleep' }).locator('a.count.state-running', { hasText: '1' }).waitFor(WAIT);
  });

  it('cancels a task from its detail, and the CLI then shows it failed (cancelled)', async () => {
    const task = await client.submit({ type: 'sleep', params: { ms: 3_600_000 }, key: 'to-cancel' });
    await page.locator(`tr[data-id="${task.id}"]`).click(WAIT);
    const detail = page.getByRole('complementary', { name: 'task detail' });
    await detail.locator('.task-id', { hasText: task.id }).waitFor(WAIT);
    await detail.getByRole('button', { name: 'Cancel' }).click(WAIT);
    await detail.locator('.summary .badge', { hasText: 'failed (cancelled)' }).waitFor(WAIT);
    await page.locator(`tr[data-id="${task.id}"] .badge`, { hasText: 'failed (cancelled)' }).waitFor(WAIT);
    const shown = await spindleJson<{ state: string; reason: string }>(['show', task.id, '--data', data]);
    expect(shown).toMatchObject({ state: 'failed', reason: 'cancelled' });
    const shot = join(tempDir(), 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
    expect(problems).toEqual([]);
  });

  it('cancels every queued task of a type in two steps: the count, then the confirmed action', async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const tasks = await Promise.all([1, 2, 3].map((n) => client.submit({ type: 'noop', params: { n }, schedule: { at: later } })));
    await page.locator('select[name="type"] option', { hasText: /^noop$/ }).waitFor({ state: 'attached', ...WAIT });
    await page.locator('select[name="type"]').selectOption('noop');
    await page.locator('select[name="state"]').selectOption('queued');
    for (const t of tasks) await page.locator(`tr[data-id="${t.id}"]`).waitFor(WAIT);
    await page.getByRole('button', { name: 'Cancel…' }).click(WAIT);
    const confirm = page.getByRole('alertdialog');
    await confirm.getByText('Cancel 3 tasks?').waitFor(WAIT);
    await confirm.getByRole('button', { name: 'Cancel 3' }).click(WAIT);
    await page.locator('.bulk .done', { hasText: 'Cancel: 3 done, 0 skipped' }).waitFor(WAIT);
    // The list, filtered on queued, empties as the events come in.
    for (const t of tasks) await page.locator(`tr[data-id="${t.id}"]`).waitFor({ state: 'detached', ...WAIT });
    for (const t of tasks) expect(await spindleJson(['show', t.id, '--data', data])).toMatchObject({ state: 'failed', reason: 'cancelled' });
    expect(problems).toEqual([]);
  });
});

describe('the task list', () => {
  it('pages through 120 tasks 50 at a time with the store\'s cursor, and reads nothing but pages', async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const tasks = await client.submitMany(Array.from({ length: 120 }, (_, n) => ({ type: 'echo', params: { n }, schedule: { at: later } })));
    const reads: URL[] = [];
    const onRequest = (r: { url(): string }) => { const u = new URL(r.url()); if (u.pathname === '/api/tasks') reads.push(u); };
    page.on('request', onRequest);
    await page.locator('select[name="type"]').selectOption('echo');
    await page.locator('select[name="state"]').selectOption('queued');
    const rows = page.locator('table.list tbody tr');
    // Newest first: the last submitted heads the first page.
    await page.locator(`tr[data-id="${tasks[119]!.id}"]`).waitFor(WAIT);
    expect(await rows.count()).toBe(50);
    await page.getByRole('button', { name: 'Older →' }).click(WAIT);
    await page.locator(`tr[data-id="${tasks[69]!.id}"]`).waitFor(WAIT);
    expect(await rows.count()).toBe(50);
    await page.getByRole('button', { name: 'Older →' }).click(WAIT);
    await page.locator(`tr[data-id="${tasks[0]!.id}"]`).waitFor(WAIT);
    expect(await rows.count()).toBe(20);
    expect(await page.getByRole('button', { name: 'Older →' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: '← Newer' }).click(WAIT);
    await page.locator(`tr[data-id="${tasks[69]!.id}"]`).waitFor(WAIT);
    page.off('request', onRequest);
    expect(reads.length).toBeGreaterThan(0);
    for (const u of reads) expect(u.searchParams.get('limit')).toBe('50');
    expect(problems).toEqual([]);
  });
});

describe('the live stream', () => {
  it('comes back by itself after the runtime restarts on the same port, and shows what happened since', async () => {
    const port = (JSON.parse(readFileSync(join(data, 'http.json'), 'utf8')) as { port: number }).port;
    // Another filter: the list is back on its first page, where new tasks show.
    await page.locator('select[name="state"]').selectOption('');
    await page.getByRole('button', { name: '← Newer' }).and(page.locator(':disabled')).waitFor(WAIT);
    await client.close();
    runtime.child.kill('SIGTERM');
    await runtime.exited;
    await page.locator('[data-connection="reconnecting"]').waitFor(WAIT);
    runtime = await startRuntime(data, FIXTURE_TASKS, ['--http', `127.0.0.1:${port}`]);
    client = await Client.connect({ data });
    await page.locator('[data-connection="live"]').waitFor({ timeout: 60_000 });
    const task = await client.submit({ type: 'echo', params: { after: 'restart' }, schedule: { at: new Date(Date.now() + 3_600_000).toISOString() } });
    await page.locator(`tr[data-id="${task.id}"]`).waitFor(WAIT);
  });
});

describe('the dashboard page of a read-only server', () => {
  let ro: HttpRuntime;

  beforeAll(async () => {
    ro = await startHttpRuntime({ readOnly: true });
  });

  afterAll(async () => {
    await ro?.runtime.stop();
  });

  it('shows tasks without any button that writes', async () => {
    const task = await ro.runtime.submit({ type: 'sleep', params: { ms: 3_600_000 } });
    const roPage = await browser.newPage();
    await roPage.goto(`${ro.base}/?token=${encodeURIComponent(ro.token)}`);
    await roPage.locator('.badge.read-only').waitFor(WAIT);
    await roPage.locator(`tr[data-id="${task.id}"]`).click(WAIT);
    await roPage.locator('.detail .summary .badge', { hasText: 'running' }).waitFor(WAIT);
    expect(await roPage.locator('.detail .actions').count()).toBe(0);
    expect(await roPage.locator('.bulk').count()).toBe(0);
    expect(await roPage.getByRole('button').filter({ hasText: /Cancel|Pause|Resume|Run now/ }).count()).toBe(0);
    await roPage.close();
  });
});
