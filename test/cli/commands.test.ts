import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskView } from '../../src/index.js';
import { background, type Background, CLI, spindle, spindleJson, startRuntime, killBackground } from '../helpers/cli.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir } from '../helpers/runtime.js';

// One runtime, started by the real CLI, serves every command below; each test makes its own tasks.
let data: string;
let runtime: Background;
const at = (): string[] => ['--data', data];

beforeAll(async () => {
  data = tempDir();
  runtime = await startRuntime(data, FIXTURE_TASKS);
});

afterAll(async () => {
  await killBackground(runtime);
  removeTempDirs();
});

describe('spindle submit', () => {
  it('--wait prints the output and exits 0 when the task finishes', async () => {
    const ran = await spindle(['submit', 'echo', '--params', '{"name":"Ada"}', '--wait', ...at()]);
    expect(ran).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(ran.stdout)).toEqual({ name: 'Ada' });
  });

  it('--wait exits 1 with one line on stderr when the task fails', async () => {
    const ran = await spindle(['submit', 'throws', '--max-tries', '1', '--wait', ...at()]);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/^spindle: task \S+ failed \(error\): HANDLER_ERROR: this handler always fails\n$/);
  });

  it('passes every flag through, and --json prints the task the protocol answered', async () => {
    const task = await spindleJson<TaskView>(['submit', 'echo', '--params', '{"n":1}', '--every', '1h', '--start', '2030-01-01T00:00:00Z',
      '--end', '2030-02-01T00:00:00Z', '--count', '3', '--misfire', 'skip', '--grace', '5s', '--max-tries', '4', '--timeout', '30s',
      '--priority', '-5', '--key', 'flags-1', ...at()]);
    expect(task).toMatchObject({
      type: 'echo', params: { n: 1 }, state: 'queued', recurring: true, priority: -5, maxTries: 4, timeoutMs: 30_000,
      misfire: 'skip', graceMs: 5000, key: 'flags-1', nextRunAt: '2030-01-01T00:00:00.000Z',
      schedule: { every: '1h', start: '2030-01-01T00:00:00.000Z', end: '2030-02-01T00:00:00.000Z', count: 3 },
    });
    const again = await spindleJson<TaskView>(['submit', 'echo', '--params', '{"n":1}', '--in', '1h', '--key', 'flags-1', ...at()]);
    expect(again.id).toBe(task.id);
    const conflict = await spindle(['submit', 'echo', '--params', '{"n":2}', '--key', 'flags-1', ...at()]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/^spindle: KEY_CONFLICT: .+\n$/);
  });

  it('builds each schedule form from its flags', async () => {
    const cron = await spindleJson<TaskView>(['submit', 'echo', '--cron', '0 30 2 * * *', '--tz', 'America/New_York', ...at()]);
    expect(cron.schedule).toMatchObject({ cron: '0 30 2 * * *', tz: 'America/New_York' });
    const rrule = await spindleJson<TaskView>(['submit', 'echo', '--rrule', 'FREQ=DAILY;BYHOUR=9', '--tz', 'Europe/Paris', '--count', '2', ...at()]);
    expect(rrule.schedule).toMatchObject({ tz: 'Europe/Paris', count: 2 });
    const once = await spindleJson<TaskView>(['submit', 'echo', '--at', '2031-05-01T12:00:00Z', ...at()]);
    expect(once).toMatchObject({ recurring: false, nextRunAt: '2031-05-01T12:00:00.000Z' });
    const any = await spindleJson<TaskView>(['submit', 'echo', '--schedule', '{"any":[{"cron":"0 9 * * *"},{"cron":"0 17 * * 5"}]}', ...at()]);
    expect(any.schedule).toMatchObject({ any: [{ cron: '0 9 * * *' }, { cron: '0 17 * * 5' }] });
    for (const id of [cron.id, rrule.id, once.id, any.id]) expect((await spindle(['cancel', id, ...at()])).code).toBe(0);
  });

  it('refuses bad flags with one line naming the flag, and stores nothing: exit 2 when the command line is refused, 1 when the runtime refuses', async () => {
    const before = (await spindleJson<{ states: Record<string, number> }>(['stats', ...at()])).states;
    const cases: Array<[string[], RegExp, number]> = [
      [['submit', 'echo', '--params', '{nope'], /^spindle: INVALID_ARGUMENT: --params: is not JSON/, 2],
      [['submit', 'echo', '--every', '1h', '--cron', '* * * * *'], /^spindle: INVALID_ARGUMENT: --cron: give one schedule form, not --every and --cron/, 2],
      [['submit', 'echo', '--tz', 'Europe/Paris'], /^spindle: INVALID_ARGUMENT: --tz: qualifies a schedule/, 2],
      [['submit', 'echo', '--cron', '61 * * * *'], /^spindle: INVALID_SCHEDULE: /, 1],
      [['submit', 'echo', '--max-tries', 'many'], /^spindle: INVALID_ARGUMENT: --max-tries: must be a whole number/, 2],
      [['submit', 'echo', '--timeout', 'soon'], /^spindle: INVALID_ARGUMENT: timeout: /, 1],
      [['submit', 'nope'], /^spindle: UNKNOWN_TYPE: unknown task type "nope"/, 1],
      [['submit'], /^spindle: INVALID_ARGUMENT: type: give the task type/, 2],
    ];
    for (const [args, message, exit] of cases) {
      const ran = await spindle([...args, ...at()]);
      expect(ran.code, args.join(' ')).toBe(exit);
      expect(ran.stderr, args.join(' ')).toMatch(message);
      expect(ran.stderr.split('\n')).toHaveLength(2);
    }
    expect((await spindleJson<{ states: Record<string, number> }>(['stats', ...at()])).states).toEqual(before);
  });

  it('--params @FILE reads the params from a JSON file', async () => {
    const file = join(tempDir(), 'params.json');
    writeFileSync(file, '{"name":"Grace"}\n');
    const task = await spindleJson<TaskView>(['submit', 'echo', '--params', `@${file}`, '--in', '1h', ...at()]);
    expect(task.params).toEqual({ name: 'Grace' });
  });

  it('prints errors as JSON on stdout with --json, besides the line on stderr', async () => {
    const ran = await spindle(['show', 'missing', '--json', ...at()]);
    expect(ran.code).toBe(1);
    expect(JSON.parse(ran.stdout)).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('--file submits one JSON object per line in atomic batches, from a file or stdin', async () => {
    const dir = tempDir();
    const file = join(dir, 'tasks.jsonl');
    writeFileSync(file, ['{"type":"echo","params":{"f":1},"schedule":{"in":"1h"}}', '', '{"type":"echo","params":{"f":2},"schedule":{"in":"1h"}}'].join('\n'));
    const fromFile = await spindleJson<TaskView[]>(['submit', '--file', file, ...at()]);
    expect(fromFile.map((t) => t.params)).toEqual([{ f: 1 }, { f: 2 }]);
    const human = await spindle(['submit', '--file', '-', ...at()], { input: '{"type":"echo","schedule":{"in":"1h"}}\n' });
    expect(human).toMatchObject({ code: 0, stdout: 'submitted 1 task from stdin\n' });

    const before = (await spindleJson<{ states: Record<string, number> }>(['stats', ...at()])).states;
    const bad = await spindle(['submit', '--file', '-', ...at()], { input: '{"type":"echo"}\n{"type":"nope"}\n' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('0 task(s) stored before stdin:2, which was refused as a batch of 2 (none of it stored)');
    expect(bad.stderr).toContain('UNKNOWN_TYPE');
    const notJson = await spindle(['submit', '--file', '-', ...at()], { input: '{"type":"echo"}\nnot json\n' });
    expect(notJson.stderr).toMatch(/^spindle: INVALID_ARGUMENT: stdin:2: is not JSON/);
    expect((await spindleJson<{ states: Record<string, number> }>(['stats', ...at()])).states).toEqual(before);
  });
});

describe('spindle list, pending, show, runs, history', () => {
  it('refuses a cursor that is not a task id with INVALID_ARGUMENT rather than giving the first page', async () => {
    const ran = await spindle(['list', '--cursor', 'garbage', '--json', ...at()]);
    expect(ran.code).toBe(1);
    expect(JSON.parse(ran.stdout)).toMatchObject({ error: { code: 'INVALID_ARGUMENT', field: 'cursor' } });
  });

  it('lists newest first with filters and pages, as a table or as JSON', async () => {
    const tasks: TaskView[] = [];
    for (const n of [1, 2, 3]) tasks.push(await spindleJson<TaskView>(['submit', 'noop', '--in', `${n}h`, ...at()]));
    const page = await spindleJson<{ tasks: TaskView[]; cursor: string | null }>(['list', '--type', 'noop', '--state', 'queued', '--limit', '2', ...at()]);
    expect(page.tasks.map((t) => t.id)).toEqual([tasks[2]!.id, tasks[1]!.id]);
    const next = await spindleJson<{ tasks: TaskView[]; cursor: string | null }>(['list', '--type', 'noop', '--limit', '2', '--cursor', page.cursor!, ...at()]);
    expect(next.tasks.map((t) => t.id)).toEqual([tasks[0]!.id]);

    const table = await spindle(['list', '--type', 'noop', '--limit', '2', ...at()]);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id\s+type\s+state\s+next run\s+runs\s+updated$/);
    expect(lines[1]).toMatch(new RegExp(`^${tasks[2]!.id}\\s+noop\\s+queued\\s+in 2 h\\s+0\\s+(now|\\d+ s ago)$`));
    expect(lines[3]).toBe(`more: spindle list --cursor ${page.cursor} --limit 2`);
    expect((await spindle(['list', '--state', 'terminated', ...at()])).stdout).toBe('no tasks\n');
    // A type the runtime has never known is refused rather than answered with an empty page (issue 14.4).
    const unknown = await spindle(['list', '--type', 'nothing-of-this-type', ...at()]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^spindle: UNKNOWN_TYPE: /);
  });

  it('shows queued tasks in due order with pending, optionally for one type', async () => {
    const late = await spindleJson<TaskView>(['submit', 'sleep', '--in', '3h', ...at()]);
    const early = await spindleJson<TaskView>(['submit', 'sleep', '--in', '2h', ...at()]);
    const pending = await spindleJson<TaskView[]>(['pending', 'sleep', '--limit', '10', ...at()]);
    expect(pending.map((t) => t.id)).toEqual([early.id, late.id]);
    const human = await spindle(['pending', 'sleep', ...at()]);
    expect(human.stdout.split('\n')[0]).toMatch(/^id\s+type\s+next run\s+due at\s+priority\s+schedule$/);
    expect(human.stdout.split('\n')[1]).toContain(`${early.id}  sleep  in 1 h`);
    expect((await spindleJson<TaskView[]>(['pending', 'sleep', '--limit', '1', ...at()])).map((t) => t.id)).toEqual([early.id]);
  });

  it('shows one task, its runs and its history', async () => {
    const ran = await spindle(['submit', 'flaky', '--params', '{"succeedOn":2}', '--wait', '--json', ...at()]);
    const task = JSON.parse(ran.stdout) as TaskView;
    expect(task).toMatchObject({ state: 'finished', runCount: 2 });
    expect(await spindleJson(['show', task.id, ...at()])).toEqual(task);
    const show = (await spindle(['show', task.id, ...at()])).stdout;
    expect(show).toMatch(/^id\s+\S+$/m);
    expect(show).toMatch(/^state\s+finished$/m);
    expect(show).toMatch(/^last run\s+#2, attempt 2: finished/m);
    expect(show).toMatch(/^output\s+\{"attempt":2\}$/m);

    const runs = await spindleJson<Array<{ state: string; error: { code: string } | null }>>(['runs', task.id, ...at()]);
    expect(runs.map((r) => [r.state, r.error?.code ?? null])).toEqual([['failed', 'HANDLER_ERROR'], ['finished', null]]);
    const runsTable = (await spindle(['runs', task.id, ...at()])).stdout.split('\n');
    expect(runsTable[1]).toMatch(/^1\s+1\s+failed\s+.+HANDLER_ERROR: attempt 1 fails on purpose$/);

    const history = await spindleJson<Array<{ to: string }>>(['history', task.id, ...at()]);
    expect(history.map((h) => h.to)).toEqual(['spooled', 'queued', 'running', 'queued', 'running', 'finished']);
    expect((await spindle(['history', task.id, ...at()])).stdout.split('\n')[1]).toMatch(/^\S+Z\s+none\s+spooled\s+submit\s+-$/);
  });
});

describe('spindle cancel, pause, resume, run-now', () => {
  it('controls a task and says what it did', async () => {
    const task = await spindleJson<TaskView>(['submit', 'echo', '--params', '{"c":1}', '--every', '1h', '--start', '2030-01-01T00:00:00Z', ...at()]);
    expect(await spindle(['pause', task.id, ...at()])).toMatchObject({ code: 0, stdout: `paused ${task.id} (echo, queued, paused)\n` });
    expect(await spindleJson(['resume', task.id, ...at()])).toMatchObject({ id: task.id, paused: false });

    const watch = background(['watch', '--id', task.id, '--events', 'run.ended', '--json', ...at()]);
    await watch.printed('watching');
    expect((await spindle(['run-now', task.id, ...at()])).code).toBe(0);
    await watch.printed('"run.ended"');
    const ended = JSON.parse(watch.output().split('\n').find((l) => l.includes('"run.ended"'))!);
    expect(ended).toMatchObject({ event: 'run.ended', data: { id: task.id, state: 'finished', output: { c: 1 } } });
    expect(await spindleJson(['show', task.id, ...at()])).toMatchObject({ state: 'queued', runCount: 1, nextRunAt: '2030-01-01T00:00:00.000Z' });

    expect(await spindle(['cancel', task.id, ...at()])).toMatchObject({ code: 0, stdout: `cancelled ${task.id} (echo, failed (cancelled))\n` });
    const again = await spindle(['cancel', task.id, ...at()]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^spindle: INVALID_STATE: /);
    watch.child.kill('SIGINT');
    expect((await watch.exited).code).toBe(0);
  });
});

describe('spindle watch', () => {
  it('refuses a task id that does not exist with NOT_FOUND rather than waiting forever', async () => {
    const ran = await spindle(['watch', '--id', '0000000000000nosuch', ...at()]);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/^spindle: NOT_FOUND: /);
  });

  it('streams events as lines, filtered by type and by task', async () => {
    const other = await spindleJson<TaskView>(['submit', 'echo', '--in', '1h', ...at()]);
    const byType = background(['watch', '--type', 'progress', ...at()]);
    const byId = background(['watch', '--id', other.id, '--json', ...at()]);
    await Promise.all([byType.printed('watching'), byId.printed('watching')]);
    const task = await spindleJson<TaskView>(['submit', 'progress', ...at()]);
    // The transition and the run's end are two events of one commit: wait for both lines.
    await byType.printed(`${task.id}  progress  running → finished`);
    await byType.printed(`${task.id}  progress  run 1 finished in`);
    const out = byType.output();
    expect(out).toContain(`${task.id}  progress  none → spooled`);
    expect(out).toMatch(new RegExp(`${task.id}  progress  run 1 50%`));
    expect(out).toMatch(new RegExp(`${task.id}  progress  run 1 finished in \\d+ ms: \\{"done":true\\}`));
    byType.child.kill('SIGTERM');
    byId.child.kill('SIGINT');
    expect((await byType.exited).code).toBe(0);
    expect((await byId.exited).code).toBe(0);
    expect(byId.output()).not.toContain(task.id);
  });
});

describe('spindle types, stats, preview', () => {
  it('lists task types with their defaults', async () => {
    const types = await spindleJson<Array<{ name: string; timeoutMs: number }>>(['types', ...at()]);
    expect(types.map((t) => t.name)).toContain('echo');
    const human = await spindle(['types', ...at()]);
    expect(human.stdout.split('\n')[0]).toMatch(/^type\s+timeout\s+max tries\s+concurrency\s+priority\s+isolation\s+description$/);
    const verbose = await spindle(['types', '-v', ...at()]);
    expect(verbose.stdout).toMatch(/^echo\n {2}file {4}\/.+echo\.mjs$/m);
  });

  it('shows counts per state and type, and the pool', async () => {
    const stats = await spindleJson<{ states: Record<string, number>; workers: { mode: string; size: number }; uptimeMs: number }>(['stats', ...at()]);
    expect(stats.workers).toMatchObject({ mode: 'threads', size: 2 });
    expect(stats.uptimeMs).toBeGreaterThan(0);
    const human = (await spindle(['stats', ...at()])).stdout;
    expect(human.split('\n')[0]).toMatch(/^type\s+spooled\s+queued\s+running\s+finished\s+failed\s+terminated$/);
    expect(human).toMatch(/^all(\s+\d+){6}$/m);
    expect(human).toMatch(/^workers {2}threads \d\/2 busy$/m);
  });

  it('previews the issue\'s New York example in the zone and in UTC, without submitting', async () => {
    const args = ['preview', '--cron', '0 30 2 * * *', '--tz', 'America/New_York', '--start', '2027-03-12T12:00:00Z', '--count', '3', ...at()];
    expect(await spindleJson(args)).toEqual({ times: ['2027-03-13T07:30:00.000Z', '2027-03-14T07:00:00.000Z', '2027-03-15T06:30:00.000Z'] });
    const human = await spindle(args);
    expect(human.stdout).toBe([
      'in America/New_York      UTC',
      '2027-03-13 02:30:00 EST  2027-03-13T07:30:00.000Z',
      '2027-03-14 03:00:00 EDT  2027-03-14T07:00:00.000Z',
      '2027-03-15 02:30:00 EDT  2027-03-15T06:30:00.000Z',
      '',
    ].join('\n'));
    const refused = await spindle(['preview', '--cron', '*/0 * * * *', ...at()]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^spindle: INVALID_SCHEDULE: /);
    expect((await spindle(['preview', ...at()])).stderr).toMatch(/^spindle: INVALID_SCHEDULE: give a schedule to preview/);
  });
});

describe('output into a closed pipe', () => {
  it('exits 0 without a stack trace when the reader has gone (`spindle types | head -0`)', async () => {
    const child = spawn(process.execPath, [CLI, 'types', ...at()], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  });
});

describe('without a runtime', () => {
  it('says in one line that nothing answers, and exits 1', async () => {
    const empty = tempDir();
    for (const args of [['list'], ['submit', 'echo'], ['stats'], ['stop'], ['watch']]) {
      const ran = await spindle([...args, '--data', empty]);
      expect(ran.code, args[0]).toBe(1);
      expect(ran.stderr).toBe(`spindle: RUNTIME_UNREACHABLE: cannot reach the runtime at ${empty}/spindle.sock — is \`spindle start\` running?\n`);
    }
  });
});

describe('spindle stop', () => {
  it('stops the runtime gracefully: it exits 0, removes its socket, and its tasks are there on restart', async () => {
    const task = await spindleJson<TaskView>(['submit', 'echo', '--in', '5h', ...at()]);
    expect(await spindle(['stop', ...at()])).toMatchObject({ code: 0, stdout: `stopped the runtime at ${data}/spindle.sock\n` });
    expect(await runtime.exited).toEqual({ code: 0, signal: null });
    expect((await spindle(['stats', ...at()])).code).toBe(1);
    runtime = await startRuntime(data, FIXTURE_TASKS);
    expect(await spindleJson(['show', task.id, ...at()])).toMatchObject({ id: task.id, state: 'queued' });
  });
});
