import { copyFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/index.js';
import type { RuntimeOptions } from '../../src/index.js';
import { RUNTIME_DEFAULTS } from '../../src/runtime/runtime-options.js';
import { type Clock, systemClock } from '../../src/clock.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir, until, waitForState } from '../helpers/runtime.js';

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.stop(2000);
  runtime = undefined;
  removeTempDirs();
});

async function start(options: RuntimeOptions): Promise<Runtime> {
  runtime = await Runtime.start({ data: tempDir(), workers: 1, logLevel: 'silent', killGrace: 500, ...options });
  return runtime;
}

/** A tasks dir with the given fixture modules copied in and extra modules written from text. */
function tasksDir(copies: string[], written: Record<string, string> = {}): string {
  const dir = tempDir('spindle-tasks-');
  for (const name of copies) copyFileSync(join(FIXTURE_TASKS, name), join(dir, name));
  for (const [name, text] of Object.entries(written)) writeFileSync(join(dir, name), text);
  return dir;
}

const nothingStored = async (r: Runtime): Promise<void> => {
  expect((await r.list({})).tasks).toEqual([]);
  expect(Object.values(r.stats().states).every((n) => n === 0)).toBe(true);
};

describe('B1: unknown types and modules that fail to load', () => {
  it('a module that throws on import leaves its type unknown: UNKNOWN_TYPE, nothing stored, the other types run', async () => {
    const tasks = tasksDir(['noop.mjs'], { 'broken.mjs': "throw new Error('broken at import');\nexport default { name: 'broken', run() {} };\n" });
    const r = await start({ tasks });
    expect(r.registry.problems.map((p) => p.code)).toEqual(['HANDLER_LOAD_FAILED']);
    for (const type of ['broken', 'no-such-type']) {
      await expect(r.submit({ type })).rejects.toMatchObject({ code: 'UNKNOWN_TYPE', details: { field: 'type' } });
    }
    await nothingStored(r);
    expect(await waitForState(r, (await r.submit({ type: 'noop' })).id)).toMatchObject({ state: 'finished' });
  });

  it('orphaned tasks (queued and interrupted mid-run) of a module deleted between restarts end failed at start-up, once, without a crash loop', async () => {
    const data = tempDir();
    const tasks = tasksDir(['sleep.mjs', 'noop.mjs']);
    let r = await start({ data, tasks });
    const queued = await r.submit({ type: 'sleep', schedule: { in: '1h' } });
    const running = await r.submit({ type: 'sleep', params: { ms: 60_000 }, maxTries: 3 });
    await waitForState(r, running.id, ['running']);
    // Grace 0: the run is cut short and stays `running` in the store, as after a crash.
    await r.stop(0);
    rmSync(join(tasks, 'sleep.mjs'));

    r = await start({ data, tasks });
    for (const id of [queued.id, running.id]) {
      expect(await until(async () => {
        const v = await r.get(id);
        return v.state === 'failed' ? v : undefined;
      })).toMatchObject({ state: 'failed', reason: 'invalid' });
    }
    expect(r.stats().states).toMatchObject({ queued: 0, running: 0, failed: 2 });
    expect(await waitForState(r, (await r.submit({ type: 'noop' })).id)).toMatchObject({ state: 'finished' });
    await r.stop(2000);

    // A second start finds nothing left to fix: the orphans stay failed, nothing loops.
    r = await start({ data, tasks });
    expect(r.stats().states).toMatchObject({ queued: 0, running: 0, failed: 2, finished: 1 });
    expect((await r.runs(running.id)).map((run) => run.state)).toEqual(['lost']);
  });

  it('a module that fails to load in the worker fails the run with HANDLER_LOAD_FAILED, try after try, and the runtime carries on', async () => {
    const tasks = tasksDir(['noop.mjs'], { 'vanish.mjs': "export default { name: 'vanish', run() { return 1; } };\n" });
    const r = await start({ tasks });
    // Loaded at start-up, gone before any worker imports it.
    rmSync(join(tasks, 'vanish.mjs'));
    const t = await r.submit({ type: 'vanish', maxTries: 2 });
    expect(await waitForState(r, t.id)).toMatchObject({ state: 'failed', reason: 'error', tries: 2 });
    expect((await r.runs(t.id)).map((run) => run.error?.code)).toEqual(['HANDLER_LOAD_FAILED', 'HANDLER_LOAD_FAILED']);
    expect(await waitForState(r, (await r.submit({ type: 'noop' })).id)).toMatchObject({ state: 'finished' });
  });
});

describe('B2: params that do not match the type\'s schema', () => {
  it.each([
    ['a missing field', { n: 1 }, ['/url']],
    ['a field of the wrong type', { url: 7, n: 'one' }, ['/url', '/n']],
    ['an extra property', { url: 'u', extra: true }, ['/extra']],
    ['an array instead of an object', [1, 2], ['/']],
  ])('%s: INVALID_PARAMS with the paths, nothing stored, the handler never called', async (_what, params, paths) => {
    const marker = join(tempDir(), 'called');
    const tasks = tasksDir([], {
      'strict.mjs': `import { writeFileSync } from 'node:fs';
export default {
  name: 'strict',
  params: { type: 'object', properties: { url: { type: 'string' }, n: { type: 'integer' } }, required: ['url'], additionalProperties: false },
  run() { writeFileSync(${JSON.stringify(marker)}, 'called'); },
};\n`,
    });
    const r = await start({ tasks });
    const err = await r.submit({ type: 'strict', params }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_PARAMS' });
    expect((err as { details: { paths: string[] } }).details.paths).toEqual(expect.arrayContaining(paths));
    await nothingStored(r);
    // The same type with good params does run (so the marker would have shown a call).
    expect(await waitForState(r, (await r.submit({ type: 'strict', params: { url: 'u' } })).id)).toMatchObject({ state: 'finished' });
    expect(existsSync(marker)).toBe(true);
  });
});

describe('B3: bad schedules are refused by a running runtime, naming the field, storing nothing', () => {
  it.each([
    ['a bad cron', { cron: '61 * * * *' }, 'schedule.cron'],
    ['an unknown zone', { cron: '0 9 * * *', tz: 'Mars/Olympus' }, 'schedule.tz'],
    ['a bad rrule', { rrule: 'FREQ=SOMETIMES' }, 'schedule.rrule'],
    ['a bad interval', { every: '-5m' }, 'schedule.every'],
    ['a zero interval', { every: 0 }, 'schedule.every'],
    ['a bad delay', { in: 'soon' }, 'schedule.in'],
    ['an end before the start', { every: '1h', start: '2030-02-01T00:00:00Z', end: '2030-01-01T00:00:00Z' }, 'schedule.end'],
  ])('%s', async (_what, schedule, field) => {
    const r = await start({ tasks: FIXTURE_TASKS });
    await expect(r.submit({ type: 'noop', schedule })).rejects.toMatchObject({ code: 'INVALID_SCHEDULE', details: { field } });
    await nothingStored(r);
  });
});

describe('B4: bad numbers and durations never reach a timer', () => {
  it('refuses each with INVALID_ARGUMENT naming the field, stores nothing, and arms no timer for it', async () => {
    const asked: number[] = [];
    const clock: Clock = { ...systemClock, setTimer: (fn, ms) => { asked.push(ms); return systemClock.setTimer(fn, ms); } };
    const r = await start({ tasks: FIXTURE_TASKS, clock });
    const before = asked.length;
    const DAY30 = 30 * 24 * 3_600_000;
    const common = [-1, 1.5, '1000', null, true, 1e309, 2 ** 53, Number.NaN];
    const cases: Array<[string, unknown, Record<string, unknown>]> = [
      ...[...common, 0, DAY30].map((v): [string, unknown, Record<string, unknown>] => ['timeout', v, {}]),
      ...[...common, 0, DAY30].map((v): [string, unknown, Record<string, unknown>] => ['maxTries', v, {}]),
      ...[...common, DAY30].map((v): [string, unknown, Record<string, unknown>] => ['graceMs', v, {}]),
      ...common.map((v): [string, unknown, Record<string, unknown>] => ['keyRetention', v, { key: 'k' }]),
    ];
    for (const [field, value, extra] of cases) {
      await expect(r.submit({ type: 'sleep', [field]: value, ...extra }), `${field} = ${String(value)}`)
        .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { field } });
    }
    await nothingStored(r);
    // Only the retention sweep's own interval may have been armed meanwhile.
    expect(asked.slice(before).filter((ms) => ms !== RUNTIME_DEFAULTS.sweepIntervalMs)).toEqual([]);
  });
});
