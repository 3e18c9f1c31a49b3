/**
 * The runtime side of the scale bench, in a process of its own so its RSS is the runtime's alone.
 * argv: phase (fill | measure), data dir, tasks dir, N. Reports one message to the parent.
 */
import { Runtime } from '../src/index.js';

const [phase, data, tasks, nText] = process.argv.slice(2) as [string, string, string, string];
const n = Number(nText);
const BATCH = 1000;
const options = { data, tasks, workers: 2, logLevel: 'silent', retention: 'forever' } as const;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(call: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await call();
    samples.push(performance.now() - t0);
  }
  return Math.round(median(samples) * 10) / 10;
}

if (phase === 'fill') {
  const rt = await Runtime.start(options);
  const t0 = performance.now();
  // Due in 30 days: queued, never run during the bench.
  for (let i = 0; i < n; i += BATCH) await rt.submitMany(Array.from({ length: Math.min(BATCH, n - i) }, () => ({ type: 'noop', schedule: { in: '30d' } })));
  const fillMs = performance.now() - t0;
  await rt.stop();
  process.send!({ fillMs });
} else {
  const t0 = performance.now();
  const rt = await Runtime.start(options);
  const stats = rt.stats();
  const readyMs = performance.now() - t0;
  globalThis.gc?.();
  const rssMb = process.memoryUsage().rss / 2 ** 20;
  const listMs = await timed(() => rt.list({ state: 'queued', limit: 100 }));
  const pendingMs = await timed(() => rt.pending({ limit: 100 }));
  await rt.stop();
  process.send!({ readyMs, rssMb, listMs, pendingMs, queued: stats.states.queued ?? 0 });
}
