import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/index.js';
import { removeTempDirs, until, waitForState } from '../helpers/runtime.js';
import { type HttpRuntime, startHttpRuntime } from './http-helpers.js';

let h: HttpRuntime;
const ids: string[] = [];

type Families = ReturnType<typeof parsePrometheusTextFormat>;

let lastText = '';

async function scrape(): Promise<Families> {
  const res = await h.call('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  lastText = await res.text();
  return parsePrometheusTextFormat(lastText);
}

function family(families: Families, name: string): Families[number] {
  const f = families.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no metric ${name}`);
  return f;
}

/**
 * A histogram's `_count` for a label set, read from the text: parse-prometheus-text-format merges a
 * histogram's series into one and drops their labels (it follows an old client_python parser), so
 * labelled histograms are checked here, by their exposition lines.
 */
function histogramCount(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}_count\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (m === null) continue;
    const found = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[2]);
  }
  return undefined;
}

/** The sample of `name` whose labels include `labels`. */
function sample(families: Families, name: string, labels: Record<string, string>): Families[number]['metrics'][number] | undefined {
  return family(families, name).metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}

beforeAll(async () => {
  h = await startHttpRuntime({}, { socket: true });
  // Known work: 5 echo runs that finish, 2 throws runs that fail (one try each), submitted over HTTP.
  const { body: echoes } = await h.json('/api/tasks', { body: Array.from({ length: 5 }, (_, n) => ({ type: 'echo', params: { n } })) });
  const { body: throwing } = await h.json('/api/tasks', { body: Array.from({ length: 2 }, (_, n) => ({ type: 'throws', params: { n }, maxTries: 1 })) });
  for (const t of [...echoes, ...throwing]) {
    ids.push(t.id);
    await waitForState(h.runtime, t.id);
  }
});

afterAll(async () => {
  await h?.runtime.stop();
  removeTempDirs();
});

describe('GET /metrics', () => {
  it('counts runs by type and outcome: N runs of a type, spindle_runs_total N', async () => {
    const m = await scrape();
    expect(family(m, 'spindle_runs_total').type).toBe('COUNTER');
    expect(sample(m, 'spindle_runs_total', { type: 'echo', outcome: 'finished' })?.value).toBe('5');
    expect(sample(m, 'spindle_runs_total', { type: 'throws', outcome: 'failed' })?.value).toBe('2');
  });

  it('has a duration histogram per type and outcome, and wait and lag histograms with a sample per run', async () => {
    const m = await scrape();
    for (const name of ['spindle_run_duration_seconds', 'spindle_task_wait_seconds', 'spindle_schedule_lag_seconds']) expect(family(m, name).type).toBe('HISTOGRAM');
    expect(histogramCount(lastText, 'spindle_run_duration_seconds', { type: 'echo', outcome: 'finished' })).toBe(5);
    expect(histogramCount(lastText, 'spindle_run_duration_seconds', { type: 'throws', outcome: 'failed' })).toBe(2);
    expect(histogramCount(lastText, 'spindle_task_wait_seconds', { type: 'echo' })).toBe(5);
    expect(histogramCount(lastText, 'spindle_task_wait_seconds', { type: 'throws' })).toBe(2);
    // Unlabelled: the parser reads it whole.
    expect(Number(family(m, 'spindle_schedule_lag_seconds').metrics[0]!.count)).toBe(7);
  });

  it('reads the task gauge from the runtime\'s counters, with zeros for the other states', async () => {
    const m = await scrape();
    expect(sample(m, 'spindle_tasks', { type: 'echo', state: 'finished' })?.value).toBe('5');
    expect(sample(m, 'spindle_tasks', { type: 'throws', state: 'failed' })?.value).toBe('2');
    expect(sample(m, 'spindle_tasks', { type: 'echo', state: 'queued' })?.value).toBe('0');
    const workers = family(m, 'spindle_workers').metrics.filter((s) => s.labels?.mode === 'threads');
    expect(workers.map((s) => s.labels?.state).sort()).toEqual(['busy', 'idle']);
    expect(workers.reduce((n, s) => n + Number(s.value), 0)).toBe(2);
  });

  it('counts requests from the socket and the HTTP API by method and code', async () => {
    const client = await Client.connect({ data: h.runtime.options.data });
    await client.stats();
    await client.get('nosuchtask000').catch(() => undefined);
    await client.close();
    await h.json('/api/tasks/nosuchtask000');
    const m = await scrape();
    expect(Number(sample(m, 'spindle_rpc_requests_total', { method: 'task.submit', code: 'OK' })?.value)).toBe(2);
    expect(Number(sample(m, 'spindle_rpc_requests_total', { method: 'runtime.stats', code: 'OK' })?.value)).toBe(1);
    expect(Number(sample(m, 'spindle_rpc_requests_total', { method: 'task.get', code: 'NOT_FOUND' })?.value)).toBe(2);
  });

  it('counts a recurring task\'s fire time that came due past its grace as a misfire, by policy', async () => {
    const start = new Date(Date.now() + 1500).toISOString();
    const task = await h.runtime.submit({ type: 'noop', schedule: { every: '1h', start }, graceMs: 0, misfire: 'coalesce' });
    await h.runtime.pause(task.id);
    await until(() => Date.now() > Date.parse(start) + 50);
    await h.runtime.resume(task.id);
    await until(async () => (await h.runtime.get(task.id)).runCount >= 1);
    await h.runtime.cancel(task.id);
    const m = await scrape();
    expect(Number(sample(m, 'spindle_schedule_misfires_total', { type: 'noop', policy: 'coalesce' })?.value)).toBeGreaterThanOrEqual(1);
  });

  it('has the default process_* and nodejs_* metrics, and no task id anywhere in a label', async () => {
    const m = await scrape();
    expect(m.some((f) => f.name === 'process_cpu_seconds_total')).toBe(true);
    expect(m.some((f) => f.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
    const labels = m.flatMap((f) => f.metrics.flatMap((s) => Object.entries(s.labels ?? {})));
    expect(labels.length).toBeGreaterThan(0);
    expect(labels.filter(([k, v]) => ids.includes(v) || /id$/i.test(k))).toEqual([]);
  });
});
