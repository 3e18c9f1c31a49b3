import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskView } from '../../src/index.js';
import { background, type Background, spindle, spindleJson, startRuntime } from '../helpers/cli.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir, until } from '../helpers/runtime.js';

const started: Background[] = [];

afterEach(async () => {
  for (const r of started.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) {
      r.child.kill('SIGKILL');
      await r.exited;
    }
  }
  removeTempDirs();
});

async function start(data: string, extra: string[] = []): Promise<Background> {
  const runtime = await startRuntime(data, FIXTURE_TASKS, extra);
  started.push(runtime);
  return runtime;
}

const mode = (path: string): number => statSync(path).mode & 0o777;

describe('the runtime process: socket and data directory (SPEC §5)', () => {
  it('X1: creates the data directory 0700 and the socket 0600 under umask 000', async () => {
    const data = join(tempDir(), 'fresh', 'data');
    const runtime = background(['start', '--data', data, '--tasks', FIXTURE_TASKS, '--workers', '1'], { umask: '000' });
    started.push(runtime);
    await runtime.printed('spindle runtime started');
    expect(mode(data)).toBe(0o700);
    expect(lstatSync(join(data, 'spindle.sock')).isSocket()).toBe(true);
    expect(mode(join(data, 'spindle.sock'))).toBe(0o600);
    expect(mode(join(data, 'store'))).toBe(0o700);
  });

  it('X1: refuses to start (SOCKET_PATH_IN_USE) when the socket path is a file, a directory or a symlink, and leaves it as it was', async () => {
    const target = join(tempDir(), 'target.txt');
    writeFileSync(target, 'keep me');
    const cases: Array<[string, (path: string) => void, (path: string) => void]> = [
      ['a regular file', (p) => writeFileSync(p, 'mine'), (p) => expect(readFileSync(p, 'utf8')).toBe('mine')],
      ['a directory', (p) => mkdirSync(p), (p) => expect(statSync(p).isDirectory()).toBe(true)],
      ['a symlink', (p) => symlinkSync(target, p), (p) => expect(readlinkSync(p)).toBe(target)],
    ];
    for (const [what, make, check] of cases) {
      const data = tempDir();
      make(join(data, 'spindle.sock'));
      const ran = await spindle(['start', '--data', data, '--tasks', FIXTURE_TASKS, '--workers', '1']);
      expect(ran.code, what).toBe(1);
      expect(ran.stderr, what).toMatch(/^spindle: SOCKET_PATH_IN_USE: .+spindle\.sock exists and is not a socket/);
      check(join(data, 'spindle.sock'));
    }
    expect(readFileSync(target, 'utf8')).toBe('keep me');
  });

  it('C3: refuses a second runtime on the same data directory within 5 s (ALREADY_RUNNING) and leaves the first one serving', async () => {
    const data = tempDir();
    await start(data);
    const before = Date.now();
    const second = await spindle(['start', '--data', data, '--tasks', FIXTURE_TASKS, '--workers', '1']);
    expect(Date.now() - before).toBeLessThan(5_000);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/^spindle: ALREADY_RUNNING: a runtime is already running on .+spindle\.sock; stop it first \(spindle stop\)\n$/);
    expect(lstatSync(join(data, 'spindle.sock')).isSocket()).toBe(true);
    expect((await spindle(['stats', '--data', data])).code).toBe(0);
  });

  it('listens on --socket PATH when given, and every command reaches it with --socket', async () => {
    const data = tempDir();
    const socket = join(tempDir(), 'elsewhere.sock');
    await start(data, ['--socket', socket]);
    expect(lstatSync(join(data, 'spindle.sock'), { throwIfNoEntry: false })).toBeUndefined();
    const task = await spindleJson<TaskView>(['submit', 'echo', '--in', '1h', '--socket', socket]);
    expect(await spindleJson(['show', task.id, '--socket', socket])).toMatchObject({ id: task.id });
    expect((await spindle(['stop', '--socket', socket])).code).toBe(0);
  });

  it('C3: replaces the stale socket a kill -9 leaves, and the tasks are all there', async () => {
    const data = tempDir();
    const first = await start(data);
    const task = await spindleJson<TaskView>(['submit', 'echo', '--in', '1h', '--data', data]);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(lstatSync(join(data, 'spindle.sock')).isSocket()).toBe(true);
    expect((await spindle(['stats', '--data', data])).stderr).toMatch(/RUNTIME_UNREACHABLE/);
    await start(data);
    expect(await spindleJson(['show', task.id, '--data', data])).toMatchObject({ id: task.id, state: 'queued' });
  });
});

describe('the runtime process: shutdown (SPEC §5)', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`stops on ${signal}: exit 0, socket removed, store reopens with its tasks`, async () => {
      const data = tempDir();
      const runtime = await start(data);
      const task = await spindleJson<TaskView>(['submit', 'echo', '--in', '1h', '--data', data]);
      runtime.child.kill(signal);
      expect(await runtime.exited).toEqual({ code: 0, signal: null });
      expect(lstatSync(join(data, 'spindle.sock'), { throwIfNoEntry: false })).toBeUndefined();
      await start(data);
      expect(await spindleJson(['show', task.id, '--data', data])).toMatchObject({ state: 'queued' });
    });
  }

  it('exits at once on a second signal; the store opens cleanly and the interrupted run is retried', async () => {
    const data = tempDir();
    const runtime = await start(data);
    const task = await spindleJson<TaskView>(['submit', 'ignore-abort', '--params', '{"ms":600000}', '--data', data]);
    await until(async () => (await spindleJson<TaskView>(['show', task.id, '--data', data])).state === 'running');
    runtime.child.kill('SIGTERM');
    await runtime.printed('"stopping"');
    runtime.child.kill('SIGTERM');
    expect(await runtime.exited).toEqual({ code: 130, signal: null });

    await start(data);
    // Recovery counts the interrupted run as lost; the retry starts after the default 1 s delay.
    const after = await until(async () => {
      const t = await spindleJson<TaskView>(['show', task.id, '--data', data]);
      return t.runCount === 2 ? t : undefined;
    });
    expect(after).toMatchObject({ state: 'running', tries: 2 });
    const runs = await spindleJson<Array<{ state: string; error: { code: string } | null }>>(['runs', task.id, '--data', data]);
    expect(runs[0]).toMatchObject({ state: 'lost', error: { code: 'WORKER_EXITED' } });
  });
});

describe('S2: spindle repair', () => {
  it('refuses while a runtime serves the directory, and repairs a store whose manifest was emptied', async () => {
    const data = tempDir();
    const runtime = await start(data);
    const task = await spindleJson<TaskView>(['submit', 'echo', '--in', '1h', '--data', data]);
    const refused = await spindle(['repair', '--data', data]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^spindle: ALREADY_RUNNING: /);
    expect((await spindle(['stop', '--data', data])).code).toBe(0);
    await runtime.exited;

    const manifest = readdirSync(join(data, 'store')).find((f) => f.startsWith('MANIFEST-'))!;
    truncateSync(join(data, 'store', manifest), 0);
    const broken = await spindle(['start', '--data', data, '--tasks', FIXTURE_TASKS, '--workers', '1']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^spindle: STORE_CORRUPT: .*spindle repair/);

    const repaired = await spindle(['repair', '--data', data]);
    expect(repaired.code).toBe(0);
    expect(repaired.stdout.startsWith(`repaired the store at ${join(data, 'store')}\n`)).toBe(true);
    await start(data);
    expect(await spindleJson(['show', task.id, '--data', data])).toMatchObject({ id: task.id, state: 'queued' });
  });
});
