/**
 * What `--http` costs: the socket throughput case (spindle start as its own process, no-op tasks
 * through task.submitMany, after a warm-up) run without HTTP, then with `--http` and a scraper
 * reading /metrics every second, alternating, several rounds; prints both and their ratio.
 * `node dist/bench/http-throughput.js [N] [ROUNDS]`. A program that prints figures, never a test.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectWhenUp } from './socket-throughput.js';
import { timedAfterWarmUp, WORKERS } from './spindle-throughput.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const TASKS = fileURLToPath(new URL('../../bench/tasks', import.meta.url));
const POLL_MS = 5;
const SCRAPE_EVERY_MS = 1000;

interface Run {
  perSecond: number;
  scrapes: number;
  /** Mean time of one /metrics request, ms. */
  scrapeMs: number;
  metricsBytes: number;
}

async function throughput(n: number, http: boolean): Promise<Run> {
  const data = mkdtempSync(join(tmpdir(), 'spindle-bench-http-'));
  const args = ['start', '--data', data, '--tasks', TASKS, '--workers', String(WORKERS), '--runs-per-worker', '256',
    '--retention', 'forever', '--log-level', 'warn', ...(http ? ['--http', '127.0.0.1:0'] : [])];
  const runtime = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  let timer: NodeJS.Timeout | undefined;
  const run: Run = { perSecond: 0, scrapes: 0, scrapeMs: 0, metricsBytes: 0 };
  try {
    const client = await connectWhenUp(data);
    try {
      if (http) {
        const { url } = JSON.parse(readFileSync(join(data, 'http.json'), 'utf8')) as { url: string };
        const headers = { authorization: `Bearer ${readFileSync(join(data, 'http.token'), 'utf8').trim()}` };
        let total = 0;
        timer = setInterval(() => {
          const t0 = performance.now();
          void fetch(`${url}metrics`, { headers }).then((r) => r.text()).then((text) => {
            total += performance.now() - t0;
            run.scrapes++;
            run.scrapeMs = total / run.scrapes;
            run.metricsBytes = text.length;
          }, () => undefined);
        }, SCRAPE_EVERY_MS);
      }
      run.perSecond = await timedAfterWarmUp(n, (batch) => client.submitMany(batch), async () => (await client.stats()).states.finished ?? 0, POLL_MS);
      clearInterval(timer);
      await client.stop({ wait: true });
      return run;
    } finally {
      await client.close();
    }
  } finally {
    clearInterval(timer);
    if (runtime.exitCode === null) runtime.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const n = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 3);
const without: number[] = [];
const withHttp: Run[] = [];
for (let i = 0; i < rounds; i++) {
  without.push((await throughput(n, false)).perSecond);
  withHttp.push(await throughput(n, true));
}
const base = median(without);
const served = median(withHttp.map((r) => r.perSecond));
console.log(`http throughput: ${n} no-op tasks, ${WORKERS} workers, runs-per-worker 256, ${rounds} rounds alternating (median)`);
console.log('case                              tasks/s    rounds');
console.log(`without --http                    ${Math.round(base).toString().padStart(7)}    ${without.map((x) => Math.round(x)).join(', ')}`);
console.log(`--http, /metrics scraped every 1s ${Math.round(served).toString().padStart(7)}    ${withHttp.map((r) => Math.round(r.perSecond)).join(', ')}`);
console.log(`ratio (with / without)            ${(served / base).toFixed(3)}`);
const scrapes = withHttp.reduce((s, r) => s + r.scrapes, 0);
const scrapeMs = withHttp.reduce((s, r) => s + r.scrapeMs * r.scrapes, 0) / Math.max(1, scrapes);
console.log(`scrapes ${scrapes}, mean ${scrapeMs.toFixed(1)} ms each, ${withHttp.at(-1)!.metricsBytes} bytes of metrics text`);
