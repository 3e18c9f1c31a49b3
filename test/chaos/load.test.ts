import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '../../src/index.js';
import type { SubmitOptions } from '../../src/index.js';
import { ChaosRuntime, openCount, readStore, statsUntil } from '../helpers/chaos-runtime.js';
import { CHAOS_TASKS, expectClean } from '../helpers/chaos-scenario.js';
import { Checker, summaryLine } from '../helpers/checker.js';
import { until } from '../helpers/runtime.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const runtimes: ChaosRuntime[] = [];
afterEach(async () => {
  for (const rt of runtimes.splice(0)) await rt.close();
  removeTempDirs();
});

const TASKS = 100_000;
const BATCH = 5_000;
const MB = 1024 * 1024;
const mb = (bytes: number): number => Math.round(bytes / MB);

function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) * 1024;
}

/**
 * RSS after a full garbage collection. V8 leaves an idle heap's garbage uncollected, so RSS read
 * at an arbitrary moment says more about GC timing than about what is kept. Node's
 * --heapsnapshot-signal collects fully before it writes the snapshot (into the runtime's cwd);
 * the runtime's main thread is busy until the file is written, so a `stats` answer after the file
 * appears means it is done.
 */
async function rssAfterFullGc(rt: ChaosRuntime, client: Client, cwd: string): Promise<number> {
  const snapshots = (): number => readdirSync(cwd).filter((f) => f.endsWith('.heapsnapshot')).length;
  const before = snapshots();
  process.kill(rt.pid, 'SIGUSR2');
  await until(() => snapshots() !== before, { ms: 120_000, what: `a heap snapshot of the runtime in ${cwd}` });
  await client.stats();
  return rssOf(rt.pid);
}

/** Submits `count` no-op tasks named `prefix<i>` in batches, telling the checker. */
async function submitNoops(client: Client, checker: Checker, prefix: string, count: number, log: string, extra: Partial<SubmitOptions> = {}): Promise<void> {
  for (let from = 0; from < count; from += BATCH) {
    const batch: SubmitOptions[] = Array.from({ length: Math.min(BATCH, count - from) }, (_, i) => ({ type: 'chaos-work', params: { cid: `${prefix}${from + i}`, log }, ...extra }));
    const b = checker.begin(batch.map((t) => (t.params as { cid: string }).cid));
    checker.ok(b, (await client.submitMany(batch)).map((t) => t.id));
  }
}

/** Asks `stats` every 250 ms until stopped; keeps the slowest answer and the deepest queue. */
function statsProbe(client: Client): { stop: () => Promise<{ answers: number; slowestMs: number; maxQueued: number }> } {
  let stopping = false;
  let answers = 0;
  let slowestMs = 0;
  let maxQueued = 0;
  const loop = (async () => {
    while (!stopping) {
      const at = Date.now();
      const stats = await client.stats();
      slowestMs = Math.max(slowestMs, Date.now() - at);
      maxQueued = Math.max(maxQueued, stats.states.queued ?? 0);
      answers++;
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return { stop: async () => { stopping = true; await loop; return { answers, slowestMs, maxQueued }; } };
}

describe('L1: 100,000 queued no-op tasks', () => {
  it('drain to finished with 100,000 distinct ids and no duplicate, stats answering throughout, RSS after a full GC flat over a second 100k, and a restart over 200k finished and 100k queued serving within 10 s', async () => {
    const data = tempDir('spindle-chaos-');
    const log = join(tempDir('spindle-chaos-log-'), 'exec.log');
    const cwd = tempDir('spindle-chaos-cwd-');
    const rt = new ChaosRuntime({ data, tasks: CHAOS_TASKS, mode: 'threads', workers: 2, runsPerWorker: 256, log, cwd });
    runtimes.push(rt);
    await rt.start({ NODE_OPTIONS: '--heapsnapshot-signal=SIGUSR2' });
    const client = await Client.connect({ data });
    const checker = new Checker();
    // Warm up (JIT, pools, LevelDB's first files) before taking the baseline.
    await submitNoops(client, checker, 'w', 2_000, log);
    await statsUntil(client, (s) => openCount(s) === 0);
    const rssStart = rssOf(rt.pid);
    const rssStartGc = await rssAfterFullGc(rt, client, cwd);

    const probeClient = await Client.connect({ data });
    const probe = statsProbe(probeClient);
    const began = Date.now();
    await submitNoops(client, checker, 'n', TASKS, log);
    await statsUntil(client, (s) => openCount(s) === 0);
    const drainMs = Date.now() - began;
    const probed = await probe.stop();
    await probeClient.close();
    const rssAfter = rssOf(rt.pid);
    const rssAfterGc = await rssAfterFullGc(rt, client, cwd);
    // A second 100k: what the drain leaves behind must not grow with the tasks run. A leak of
    // 640 bytes a task would add 64 MB here.
    await submitNoops(client, checker, 'm', TASKS, log);
    await statsUntil(client, (s) => openCount(s) === 0);
    const rssAfterSecond = rssOf(rt.pid);
    const rssAfterSecondGc = await rssAfterFullGc(rt, client, cwd);

    const store = await readStore(client);
    const v = checker.check(store, readFileSync(log, 'utf8'));
    expectClean(v, null);
    expect(new Set(store.map((t) => t.id)).size).toBe(2 * TASKS + 2_000);
    expect(v.executions).toBe(2 * TASKS + 2_000);
    expect(v.reruns + v.rerunsAfterUnrecordedEnd.length).toBe(0);
    expect(probed.slowestMs).toBeLessThan(5_000);
    expect(probed.answers).toBeGreaterThan(0);
    expect(rssAfterSecondGc).toBeLessThanOrEqual(rssAfterGc + 64 * MB);

    // 100k more, queued an hour ahead, then a restart over 100k finished and 100k queued.
    await submitNoops(client, checker, 'later', TASKS, log, { schedule: { in: '1h' } });
    await client.close();
    await rt.stop();
    const restartAt = Date.now();
    await rt.start();
    const again = await Client.connect({ data });
    const stats = await again.stats();
    const readyMs = Date.now() - restartAt;
    expect(stats.states.finished).toBe(2 * TASKS + 2_000);
    expect(stats.states.queued).toBe(TASKS);
    expect(readyMs).toBeLessThan(10_000);
    await again.close();
    await rt.stop();
    console.log(summaryLine('L1', null, v, {
      drainMs, tasksPerSec: Math.round(TASKS / (drainMs / 1000)), statsAnswers: probed.answers, slowestStatsMs: probed.slowestMs,
      maxQueued: probed.maxQueued, rssStartMB: mb(rssStart), rssStartGcMB: mb(rssStartGc), rssAfterDrainMB: mb(rssAfter),
      rssAfterDrainGcMB: mb(rssAfterGc), rssAfterSecondDrainMB: mb(rssAfterSecond), rssAfterSecondDrainGcMB: mb(rssAfterSecondGc),
      restartReadyMs: readyMs,
    }));
  });
});
