import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/index.js';
import { type Background, startRuntime } from '../helpers/cli.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir } from '../helpers/runtime.js';
import { launchBrowser } from './browser.js';

// Search, charts and live progress on the page, against a real `spindle start --http` process
// (stopped and started again on the same store), in a real headless chromium.
const WAIT = { timeout: 30_000 };

let data: string;
let tasks: string;
let runtime: Background;
let client: Client;
let browser: BrowserContext;
let page: Page;
const problems: string[] = [];

async function start(): Promise<void> {
  runtime = await startRuntime(data, tasks, ['--http', '127.0.0.1:0']);
  client = await Client.connect({ data });
}

async function stop(): Promise<void> {
  await client.close();
  runtime.child.kill('SIGTERM');
  await runtime.exited;
}

async function openPage(): Promise<void> {
  const base = (JSON.parse(readFileSync(join(data, 'http.json'), 'utf8')) as { url: string }).url.replace(/\/$/, '');
  const token = readFileSync(join(data, 'http.token'), 'utf8').trim();
  await page.goto(`${base}/?token=${encodeURIComponent(token)}`);
  await page.locator('[data-connection="live"]').waitFor(WAIT);
}

beforeAll(async () => {
  data = tempDir();
  tasks = tempDir();
  for (const f of ['noop.mjs', 'throws.mjs']) copyFileSync(join(FIXTURE_TASKS, f), join(tasks, f));
  // Reports a quarter done, then a half once told to (a file appears), then waits to be cancelled.
  writeFileSync(join(tasks, 'creep.mjs'), `import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
export default {
  name: 'creep',
  async run({ go }, ctx) {
    await ctx.progress(0.25);
    while (!existsSync(go) && !ctx.signal.aborted) await sleep(20);
    await ctx.progress(0.5);
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
  },
};
`);
  await start();
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  await openPage();
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

describe('the dashboard: search, charts, progress', () => {
  let failedId: string;

  it('finds a failed task submitted through the Client by words of its error', async () => {
    const failed = await client.submit({ type: 'throws', maxTries: 1 });
    const fine = await client.submit({ type: 'noop' });
    failedId = failed.id;
    expect((await client.wait(failed.id)).state).toBe('failed');
    await client.wait(fine.id);
    const search = page.locator('section.search');
    await search.locator('input[name="text"]').fill('always FAILS');
    await search.getByRole('button', { name: 'Search' }).click();
    await search.locator(`tr[data-id="${failed.id}"]`).waitFor(WAIT);
    expect(await search.locator('tbody tr').count()).toBe(1);
    await expect(search.locator('.error-cell').first().textContent()).resolves.toContain('this handler always fails');
    // A word no error holds finds nothing; the id prefix finds the task that did not fail too.
    await search.locator('input[name="text"]').fill('succeeded');
    await search.getByRole('button', { name: 'Search' }).click();
    await search.locator('.search-status', { hasText: 'Nothing found.' }).waitFor(WAIT);
    await search.locator('input[name="text"]').fill('');
    await search.locator('input[name="id-prefix"]').fill(fine.id);
    await search.getByRole('button', { name: 'Search' }).click();
    await search.locator(`tr[data-id="${fine.id}"]`).waitFor(WAIT);
    // Opening a result shows its detail, with the error.
    await search.locator(`tr[data-id="${fine.id}"]`).click();
    await page.getByRole('complementary', { name: 'task detail' }).locator('.task-id', { hasText: fine.id }).waitFor(WAIT);
  });

  it('draws throughput and failures from the per-minute counters after runs', async () => {
    const more = await client.submitMany([{ type: 'noop' }, { type: 'noop' }, { type: 'noop' }]);
    for (const t of more) await client.wait(t.id);
    // 4 noops and 1 throws started; the charts re-read as runs end (at most every 5 s).
    await page.locator('figure[data-chart="throughput"][data-total="5"]').waitFor(WAIT);
    await page.locator('figure[data-chart="failures"][data-total="1"]').waitFor(WAIT);
    await page.locator('figure[data-chart="throughput"] canvas').waitFor(WAIT);
    await page.locator('select[name="chart-type"]').selectOption('throws');
    await page.locator('figure[data-chart="throughput"][data-total="1"]').waitFor(WAIT);
    await page.locator('select[name="chart-type"]').selectOption('');
    await page.getByRole('button', { name: 'last day' }).click();
    await page.locator('figure[data-chart="throughput"][data-total="5"]').waitFor(WAIT);
    expect(problems).toEqual([]);
  });

  it('shows a running task\'s progress live in its detail', async () => {
    const go = join(tempDir(), 'go');
    const task = await client.submit({ type: 'creep', params: { go } });
    await page.goto(page.url().replace(/#.*$/, '') + `#task/${task.id}`);
    const detail = page.getByRole('complementary', { name: 'task detail' });
    await detail.locator('.summary .badge', { hasText: 'running' }).waitFor(WAIT);
    await detail.locator('[data-run="1"] progress[data-progress="0.25"]').waitFor(WAIT);
    // The next report arrives on the stream: no re-read of the task (its state does not change).
    writeFileSync(go, '');
    await detail.locator('[data-run="1"] progress[data-progress="0.5"]').waitFor(WAIT);
    await client.cancel(task.id);
    await detail.locator('.summary .badge', { hasText: 'failed (cancelled)' }).waitFor(WAIT);
  });

  it('still draws the runs after the runtime restarts: the counters are in the store', async () => {
    await stop();
    await start();
    await openPage();
    // 5 runs before, and the cancelled creep's.
    await page.locator('figure[data-chart="throughput"][data-total="6"]').waitFor(WAIT);
    await page.locator('figure[data-chart="failures"][data-total="1"]').waitFor(WAIT);
    const search = page.locator('section.search');
    await search.locator('input[name="text"]').fill('E_FIXTURE');
    await search.getByRole('button', { name: 'Search' }).click();
    await search.locator(`tr[data-id="${failedId}"]`).waitFor(WAIT);
    const shot = join(tempDir(), 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
    expect(problems).toEqual([]);
  });
});
