import { afterEach, describe, expect, it } from 'vitest';
import { background, type Background, killBackground, spindle, spindleJson, startRuntime } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir, until } from '../helpers/runtime.js';

let db: TestDatabase | undefined;
const processes: Background[] = [];

afterEach(async () => {
  for (const p of processes.splice(0)) await killBackground(p);
  await db?.drop();
  db = undefined;
  removeTempDirs();
});

describe('spindle watch and submit --wait on one runtime see what another runtime on the same PostgreSQL database did (the real CLI)', () => {
  it('prints the start and the end of a task run by the other runtime, and --wait returns its output', async () => {
    db = await createTestDatabase();
    const [a, b] = [tempDir(), tempDir()];
    // `a` has one worker, taken by a long task before `b` starts: whatever comes next runs on `b`.
    processes.push(await startRuntime(a, FIXTURE_TASKS, ['--store', db.url, '--lease', '5s', '--workers', '1']));
    const hog = await spindleJson<{ id: string }>(['submit', 'sleep', '--data', a, '--params', '{"ms":600000}']);
    await until(async () => (await spindleJson<{ state: string }>(['show', hog.id, '--data', a])).state === 'running');
    processes.push(await startRuntime(b, FIXTURE_TASKS, ['--store', db.url, '--lease', '5s']));

    const watch = background(['watch', '--data', a, '--type', 'echo', '--json']);
    processes.push(watch);
    await watch.printed('watching');
    const waited = await spindle(['submit', 'echo', '--data', a, '--params', '{"from":"b"}', '--wait', '--json']);
    expect(waited.code, waited.stderr).toBe(0);
    const done = JSON.parse(waited.stdout) as { id: string; state: string; lastRun: { output: unknown } };
    expect(done).toMatchObject({ state: 'finished', lastRun: { output: { from: 'b' } } });
    await watch.printed('"event":"run.ended"');
    const events = watch.stdout().trim().split('\n').map((l) => JSON.parse(l) as { event: string; data: { id: string; to?: string; output?: unknown } });
    expect(events.map((e) => [e.event, e.data.id, e.data.to])).toEqual([
      ['task.state', done.id, 'spooled'],
      ['task.state', done.id, 'queued'],
      ['task.state', done.id, 'running'],
      ['run.started', done.id, undefined],
      ['task.state', done.id, 'finished'],
      ['run.ended', done.id, undefined],
    ]);
    expect(events[5]!.data.output).toEqual({ from: 'b' });
    // It ran on `b`: `a`'s one worker is still busy with the long task.
    expect(await spindleJson<{ state: string }>(['show', hog.id, '--data', b])).toMatchObject({ state: 'running' });
  });
});
