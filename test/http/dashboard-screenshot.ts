/**
 * Writes the README's picture of the dashboard: a runtime in-process on the example task modules,
 * a few tasks in various states, the page in headless chromium with its charts drawn, a search by
 * error text and a failed task open.
 *
 *   npm run build && npx tsx test/http/dashboard-screenshot.ts docs/dashboard.png
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../../src/index.js';
import { removeTempDirs, tempDir, waitForState } from '../helpers/runtime.js';
import { launchBrowser } from './browser.js';

const out = process.argv[2] ?? 'docs/dashboard.png';
const runtime = await Runtime.start({ data: tempDir(), tasks: fileURLToPath(new URL('../../examples/tasks', import.meta.url)), workers: 4, logLevel: 'silent', http: 0 });
try {
  const names = ['Ada', 'Grace', 'Edsger'];
  const hellos = await Promise.all(names.map((name) => runtime.submit({ type: 'hello', params: { name } })));
  const retried = await runtime.submit({ type: 'flaky', params: { succeedOn: 2 } });
  const failed = await runtime.submit({ type: 'flaky', params: { succeedOn: 9 }, maxTries: 2 });
  const slows = await Promise.all([600, 900, 1200].map((seconds) => runtime.submit({ type: 'slow', params: { seconds } })));
  const cancelled = await runtime.submit({ type: 'slow', params: { seconds: 60 }, schedule: { in: '10m' } });
  await runtime.submit({ type: 'hello', params: { name: 'weekly report' }, schedule: { cron: '0 9 * * 1', tz: 'Europe/Paris' } });
  const paused = await runtime.submit({ type: 'hello', params: { name: 'later' }, schedule: { in: '2h' } });
  await runtime.pause(paused.id);
  await runtime.cancel(cancelled.id);
  await Promise.all([...hellos, retried, failed].map((t) => waitForState(runtime, t.id)));
  await Promise.all(slows.slice(0, 2).map((t) => waitForState(runtime, t.id, ['running'])));

  const base = runtime.http!.address.url.replace(/\/$/, '');
  const token = readFileSync(join(runtime.options.data, 'http.token'), 'utf8').trim();
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(`${base}/?token=${encodeURIComponent(token)}`);
    await page.locator('[data-connection="live"]').waitFor();
    // The charts once the runs above are counted, and a search by a word of the failure's error.
    await page.locator('figure[data-chart="throughput"] canvas').waitFor();
    await page.locator('figure[data-chart="failures"]:not([data-total="0"])').waitFor({ timeout: 30_000 });
    await page.locator('section.search input[name="text"]').fill('purpose');
    await page.locator('section.search').getByRole('button', { name: 'Search' }).click();
    await page.locator(`section.search tr[data-id="${failed.id}"]`).waitFor();
    await page.locator(`section.tasks tr[data-id="${failed.id}"]`).click();
    await page.locator('.detail .stack').waitFor();
    await page.screenshot({ path: out, fullPage: true });
    console.log(`wrote ${out}`);
  } finally {
    await browser.close();
  }
} finally {
  await runtime.stop(0);
  removeTempDirs();
}
