import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/index.js';
import type { PurgePreview, Stats, TaskView, TypeInfo } from '../../src/index.js';
import { type Background, killBackground, spindle, spindleJson, startRuntime } from '../helpers/cli.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir } from '../helpers/runtime.js';

// One runtime, started by the real CLI, serves every command below (restarted by the pause-type test).
let data: string;
let runtime: Background;
let client: Client;
const at = (): string[] => ['--data', data];
const FAR = '2035-01-01T00:00:00Z';

beforeAll(async () => {
  data = tempDir();
  runtime = await startRuntime(data, FIXTURE_TASKS);
  client = await Client.connect({ data });
});

afterAll(async () => {
  await client.close();
  await killBackground(runtime);
  removeTempDirs();
});

/** `spindle submit ARGS --json`: the task. */
const submit = (...args: string[]): Promise<TaskView> => spindleJson<TaskView>(['submit', ...args, ...at()]);

describe('spindle retry', () => {
  it('queues a failed task again; it runs with fresh tries and its history shows the retry', async () => {
    const ran = await spindle(['submit', 'throws', '--max-tries', '1', '--wait', ...at()]);
    expect(ran.code).toBe(1);
    const id = /task (\S+) failed/.exec(ran.stderr)![1]!;
    const retried = await spindle(['retry', id, ...at()]);
    expect(retried).toMatchObject({ code: 0, stderr: '' });
    expect(retried.stdout).toMatch(new RegExp(`^retried ${id} \\(throws, (queued|running), due now with 1 fresh try\\)\\n$`));
    expect(await client.wait(id)).toMatchObject({ state: 'failed', runCount: 2, tries: 1 });
    const history = await spindleJson<Array<{ event: string; from: string; to: string }>>(['history', id, ...at()]);
    expect(history.filter((h) => h.event === 'retry')).toEqual([expect.objectContaining({ from: 'failed', to: 'queued' })]);
  });

  it('refuses a finished, a queued and an unknown task with one line and exit 1', async () => {
    const done = await submit('echo');
    await client.wait(done.id);
    const queued = await submit('echo', '--at', FAR);
    const cases: Array<[string, RegExp]> = [
      [done.id, /^spindle: INVALID_STATE: cannot retry a task that finished; submit it anew\n$/],
      [queued.id, /^spindle: INVALID_STATE: cannot retry a task that is queued: only failed and terminated tasks are retried\n$/],
      ['0000000000000abcdef', /^spindle: NOT_FOUND: /],
    ];
    for (const [id, message] of cases) {
      const ran = await spindle(['retry', id, ...at()]);
      expect(ran.code, id).toBe(1);
      expect(ran.stderr, id).toMatch(message);
    }
  });
});

describe('spindle delete and purge', () => {
  it('deletes an ended task with its runs; a live one is refused', async () => {
    const done = await submit('echo', '--params', '{"d":1}');
    await client.wait(done.id);
    const live = await submit('echo', '--at', FAR);
    expect(await spindle(['delete', done.id, ...at()])).toMatchObject({ code: 0, stdout: `deleted ${done.id}\n` });
    expect((await spindle(['show', done.id, ...at()])).stderr).toMatch(/^spindle: NOT_FOUND: /);
    expect((await spindle(['runs', done.id, ...at()])).stderr).toMatch(/^spindle: NOT_FOUND: /);
    const refused = await spindle(['delete', live.id, ...at()]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('spindle: INVALID_STATE: cannot delete a task that is queued; cancel it first\n');
    expect(await spindleJson(['delete', '0000000000000abcdef', ...at()]).catch((err: Error) => err.message)).toMatch(/NOT_FOUND/);
  });

  it('purge says how many would go and deletes only with --yes; the counts follow', async () => {
    // noop tasks are this test's alone in this file.
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const t = await submit('noop', '--at', FAR);
      await spindle(['cancel', t.id, ...at()]);
      ids.push(t.id);
    }
    const before = (await spindleJson<Stats>(['stats', ...at()])).types.noop?.failed;
    expect(before).toBe(3);

    const asked = await spindle(['purge', '--state', 'failed', '--type', 'noop', ...at()]);
    expect(asked).toMatchObject({ code: 0, stdout: '3 failed task(s) of type noop would be deleted; run again with --yes to delete them\n' });
    const preview = await spindleJson<PurgePreview>(['purge', '--state', 'failed', '--type', 'noop', ...at()]);
    expect(preview).toMatchObject({ filter: { state: 'failed', type: 'noop' }, count: 3, confirm: expect.any(String) });
    expect((await spindleJson<Stats>(['stats', ...at()])).types.noop?.failed).toBe(3);

    const done = await spindle(['purge', '--state', 'failed', '--type', 'noop', '--yes', ...at()]);
    expect(done).toMatchObject({ code: 0, stdout: 'deleted 3 failed task(s) of type noop\n' });
    for (const id of ids) expect((await spindle(['show', id, ...at()])).code).toBe(1);
    expect((await spindleJson<Stats>(['stats', ...at()])).types.noop?.failed).toBeUndefined();
    expect((await spindle(['purge', '--state', 'failed', '--type', 'noop', '--yes', ...at()])).stdout).toBe('no failed task(s) of type noop to delete\n');
  });

  it('--before keeps tasks submitted after the instant', async () => {
    const t = await submit('progress', '--at', FAR);
    await spindle(['cancel', t.id, ...at()]);
    const old = await spindle(['purge', '--state', 'failed', '--type', 'progress', '--before', '2001-01-01T00:00:00Z', '--yes', ...at()]);
    expect(old.stdout).toBe('no failed task(s) of type progress submitted before 2001-01-01T00:00:00.000Z to delete\n');
    expect((await spindleJson<TaskView>(['show', t.id, ...at()])).state).toBe('failed');
  });

  it('refuses a missing or live state (exit 2 when the command line is refused, 1 when the runtime refuses)', async () => {
    const cases: Array<[string[], RegExp, number]> = [
      [['purge'], /^spindle: INVALID_ARGUMENT: --state: give the state to purge: finished, failed or terminated\n$/, 2],
      [['purge', '--state', 'queued'], /^spindle: INVALID_ARGUMENT: state: purge deletes ended tasks/, 1],
      [['purge', '--state', 'failed', '--type', 'nope'], /^spindle: UNKNOWN_TYPE: /, 1],
      [['purge', '--state', 'failed', '--before', 'soon'], /^spindle: INVALID_ARGUMENT: before: must be an ISO-8601 instant/, 1],
    ];
    for (const [args, message, exit] of cases) {
      const ran = await spindle([...args, ...at()]);
      expect(ran.code, args.join(' ')).toBe(exit);
      expect(ran.stderr, args.join(' ')).toMatch(message);
    }
  });
});

describe('spindle list --paused', () => {
  it('lists the paused tasks; --state paused is refused with a hint to use --paused', async () => {
    const a = await submit('echo', '--at', FAR);
    await spindle(['pause', a.id, ...at()]);
    const page = await spindleJson<{ tasks: TaskView[] }>(['list', '--paused', ...at()]);
    expect(page.tasks.map((t) => t.id)).toContain(a.id);
    expect(page.tasks.every((t) => t.paused)).toBe(true);
    const text = await spindle(['list', '--paused', '--type', 'echo', ...at()]);
    expect(text.stdout).toMatch(new RegExp(`${a.id}\\s+echo\\s+queued \\(paused\\)`));
    await spindle(['resume', a.id, ...at()]);
    expect((await spindleJson<{ tasks: TaskView[] }>(['list', '--paused', ...at()])).tasks.map((t) => t.id)).not.toContain(a.id);

    const refused = await spindle(['list', '--state', 'paused', ...at()]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('spindle: INVALID_ARGUMENT: --state: paused is not a state: use --paused (tasks paused in any state)\n');
  });
});

describe('spindle reschedule', () => {
  it('gives a recurring task a new schedule from the submit flags', async () => {
    const t = await submit('echo', '--every', '1h', '--start', FAR);
    const moved = await spindleJson<TaskView>(['reschedule', t.id, '--cron', '0 9 * * *', '--tz', 'Europe/Paris', '--start', '2036-03-01T00:00:00Z', ...at()]);
    expect(moved).toMatchObject({ id: t.id, nextRunAt: '2036-03-01T08:00:00.000Z', schedule: { cron: '0 9 * * *', tz: 'Europe/Paris' } });
    const text = await spindle(['reschedule', t.id, '--every', '2h', '--start', '2036-05-01T00:00:00Z', ...at()]);
    expect(text.stdout).toMatch(new RegExp(`^rescheduled ${t.id} \\(echo, next run in .+ \\(2036-05-01T00:00:00.000Z\\)\\)\\n$`));
  });

  it('refuses no schedule (exit 2), a one-shot task and a one-shot schedule (exit 1)', async () => {
    const once = await submit('echo', '--at', FAR);
    const every = await submit('echo', '--every', '1h', '--start', FAR);
    const cases: Array<[string[], RegExp, number]> = [
      [['reschedule', every.id], /^spindle: INVALID_ARGUMENT: schedule: give the new schedule/, 2],
      [['reschedule', once.id, '--every', '1h'], /^spindle: INVALID_STATE: only a recurring task can be rescheduled/, 1],
      [['reschedule', every.id, '--at', FAR], /^spindle: INVALID_ARGUMENT: schedule: reschedule takes a recurring schedule/, 1],
      [['reschedule', every.id, '--cron', '61 * * * *'], /^spindle: INVALID_SCHEDULE: /, 1],
    ];
    for (const [args, message, exit] of cases) {
      const ran = await spindle([...args, ...at()]);
      expect(ran.code, args.join(' ')).toBe(exit);
      expect(ran.stderr, args.join(' ')).toMatch(message);
    }
  });
});

describe('spindle pause-type and resume-type', () => {
  it('holds a type\'s due tasks across a restart, shows it in types and stats, and runs them once resumed', async () => {
    expect(await spindle(['pause-type', 'sleep', ...at()])).toMatchObject({ code: 0, stdout: 'paused type sleep\n' });
    const held = await submit('sleep', '--params', '{"ms":1}');
    // A later task of another type runs: a claim came after the sleep task was due and left it.
    expect((await spindle(['submit', 'echo', '--wait', ...at()])).code).toBe(0);
    expect((await spindleJson<TaskView>(['show', held.id, ...at()])).state).toBe('queued');

    expect((await spindle(['stop', ...at()])).code).toBe(0);
    await runtime.exited;
    await client.close();
    runtime = await startRuntime(data, FIXTURE_TASKS);
    client = await Client.connect({ data });

    const types = await spindleJson<TypeInfo[]>(['types', ...at()]);
    expect(types.find((t) => t.name === 'sleep')?.paused).toBe(true);
    expect(types.find((t) => t.name === 'echo')?.paused).toBe(false);
    expect((await spindle(['types', ...at()])).stdout).toMatch(/^sleep \(paused\)\s/m);
    const stats = await spindle(['stats', ...at()]);
    expect(stats.stdout).toMatch(/^paused {3}sleep \(resume with spindle resume-type TYPE\)$/m);
    expect(stats.stdout).toMatch(/^sleep \(paused\)\s/m);
    expect((await spindle(['submit', 'echo', '--wait', ...at()])).code).toBe(0);
    expect((await spindleJson<TaskView>(['show', held.id, ...at()])).state).toBe('queued');

    expect(await spindle(['resume-type', 'sleep', ...at()])).toMatchObject({ code: 0, stdout: 'resumed type sleep\n' });
    expect(await client.wait(held.id)).toMatchObject({ state: 'finished' });
    expect((await spindleJson<Stats>(['stats', ...at()])).pausedTypes).toEqual([]);
    const again = await spindle(['resume-type', 'sleep', ...at()]);
    expect(again).toMatchObject({ code: 1, stderr: 'spindle: INVALID_STATE: type sleep is not paused\n' });
    expect((await spindle(['pause-type', 'nope', ...at()])).stderr).toMatch(/^spindle: UNKNOWN_TYPE: /);
  });
});
