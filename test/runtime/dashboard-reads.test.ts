import { afterEach, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/index.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir, until, waitForState } from '../helpers/runtime.js';

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.stop(2000);
  runtime = undefined;
  removeTempDirs();
});

const start = (data: string): Promise<Runtime> => Runtime.start({ data, tasks: FIXTURE_TASKS, workers: 2, logLevel: 'silent' });
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

describe('the dashboard reads', () => {
  it('overview: counts, paused and the oldest queued task per type, kept across a restart', async () => {
    const data = tempDir();
    runtime = await start(data);
    const first = await runtime.submit({ type: 'noop', schedule: { in: '1h' } });
    const second = await runtime.submit({ type: 'noop', schedule: { in: '2h' } });
    await runtime.pause(second.id);
    let row = (await runtime.overview()).find((r) => r.type === 'noop');
    expect(row).toMatchObject({ counts: { queued: 2 }, running: 0, paused: 1, oldestQueued: { id: first.id, nextRunAt: first.nextRunAt } });
    await runtime.stop();
    runtime = await start(data);
    row = (await runtime.overview()).find((r) => r.type === 'noop');
    expect(row).toMatchObject({ paused: 1, oldestQueued: { id: first.id } });
    await runtime.resume(second.id);
    await runtime.cancel(first.id);
    row = (await runtime.overview()).find((r) => r.type === 'noop');
    expect(row).toMatchObject({ paused: 0, oldestQueued: { id: second.id } });
    expect((await runtime.overview()).find((r) => r.type === 'sleep')).toMatchObject({ counts: {}, paused: 0, oldestQueued: null });
  });

  it('series: runs started, finished and failed per minute, with run and wait times, survive a restart', async () => {
    const data = tempDir();
    runtime = await start(data);
    const ok = await Promise.all([1, 2, 3].map(() => runtime!.submit({ type: 'noop' })));
    const bad = await runtime.submit({ type: 'throws', maxTries: 1 });
    await Promise.all([...ok, bad].map((t) => waitForState(runtime!, t.id)));
    const r = runtime;
    const noop = await until(async () => { const s = await r.series({ type: 'noop' }); return sum(s.finished) === 3 && s; });
    expect(noop.minutes).toHaveLength(60);
    expect(sum(noop.started)).toBe(3);
    expect(sum(noop.failed)).toBe(0);
    expect(noop.runP50.some((v) => v !== null)).toBe(true);
    expect(noop.waitP95.some((v) => v !== null)).toBe(true);
    await runtime.stop();
    runtime = await start(data);
    const all = await runtime.series({ range: '24h' });
    expect(all.minutes).toHaveLength(24 * 60);
    expect(sum(all.started)).toBe(4);
    expect(sum(all.finished)).toBe(3);
    expect(sum(all.failed)).toBe(1);
    await expect(runtime.series({ range: '7d' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(runtime.series({ type: 'nope' })).rejects.toMatchObject({ code: 'UNKNOWN_TYPE' });
  });

  it('search: by error words, id prefix, type and creation time, from the indexes', async () => {
    runtime = await start(tempDir());
    const before = new Date(Date.now() - 1000).toISOString();
    const bad = await runtime.submit({ type: 'throws', maxTries: 1 });
    const fine = await runtime.submit({ type: 'noop' });
    await Promise.all([bad, fine].map((t) => waitForState(runtime!, t.id)));
    const ids = async (o: Parameters<Runtime['search']>[0]) => (await runtime!.search(o)).tasks.map((t) => t.id);
    expect(await ids({ text: 'always FAILS' })).toEqual([bad.id]);
    expect(await ids({ text: 'E_FIXTURE' })).toEqual([bad.id]);
    expect(await ids({ text: 'always succeeds' })).toEqual([]);
    expect(await ids({ text: 'fails', type: 'noop' })).toEqual([]);
    expect(await ids({ idPrefix: fine.id.slice(0, 17) })).toEqual([fine.id]);
    expect(await ids({ type: 'noop', from: before })).toEqual([fine.id]);
    expect(await ids({ from: before })).toEqual([fine.id, bad.id]);
    expect(await ids({ to: before })).toEqual([]);
    const page = await runtime.search({ from: before, limit: 1 });
    expect(page.tasks.map((t) => t.id)).toEqual([fine.id]);
    expect(await ids({ from: before, cursor: page.cursor! })).toEqual([bad.id]);
    await expect(runtime.search({ text: '!!' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(runtime.search({ idPrefix: 'A!' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
