import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskView } from '../../src/index.js';
import { background, type Background, killBackground, spindle, spindleJson, startRuntime } from '../helpers/cli.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir } from '../helpers/runtime.js';

// `--store level:DIR` end to end: the real CLI started, asked and repaired over a store kept
// outside the data directory.

const runtimes: Background[] = [];
afterEach(async () => {
  for (const r of runtimes.splice(0)) await killBackground(r);
  removeTempDirs();
});

async function start(data: string, store: string): Promise<Background> {
  const runtime = await startRuntime(data, FIXTURE_TASKS, ['--store', `level:${store}`]);
  runtimes.push(runtime);
  return runtime;
}

async function stop(runtime: Background): Promise<void> {
  runtime.child.kill('SIGTERM');
  expect(await runtime.exited).toMatchObject({ code: 0 });
}

/** `spindle start` that must refuse: resolves with its exit and output, fails the test if it serves instead. */
async function refusedStart(data: string, extra: string[]): Promise<{ code: number | null; output: string }> {
  const runtime = background(['start', '--data', data, '--tasks', FIXTURE_TASKS, '--workers', '1', ...extra]);
  runtimes.push(runtime);
  const outcome = await Promise.race([runtime.exited.then(({ code }) => ({ code })), runtime.printed('spindle runtime started').then(() => 'started' as const)]);
  if (outcome === 'started') throw new Error(`the runtime started:\n${runtime.output()}`);
  return { code: outcome.code, output: runtime.output() };
}

/** The pid of a process that has exited. */
function deadPid(): number {
  return Number(spawnSync('sh', ['-c', 'echo $$']).stdout.toString());
}

const later = (data: string): Promise<TaskView> => spindleJson<TaskView>(['submit', 'noop', '--in', '1h', '--data', data]);
const UNSAFE = /^spindle: DATA_DIR_UNSAFE: refusing the store/m;

describe('spindle start --store level:DIR', () => {
  it('keeps the tasks in DIR (private), not in the data dir; another runtime on DIR sees them, and two at once are refused', async () => {
    const data = join(tempDir(), 'data');
    const store = join(tempDir(), 'deep', 'tasks-store');
    let runtime = await start(data, store);
    const tasks = [await later(data), await later(data)];
    await stop(runtime);
    expect(existsSync(join(data, 'store'))).toBe(false);
    expect(readdirSync(store)).toContain('CURRENT');
    expect(statSync(store).mode & 0o777).toBe(0o700);

    const other = join(tempDir(), 'other-data');
    runtime = await start(other, store);
    const seen = await spindleJson<{ tasks: TaskView[] }>(['list', '--data', other]);
    expect(seen.tasks.map((t) => t.id).sort()).toEqual(tasks.map((t) => t.id).sort());
    expect(seen.tasks.every((t) => t.state === 'queued')).toBe(true);

    // The store's lock is the store's, whatever data dir the second runtime has.
    const second = await refusedStart(join(tempDir(), 'third-data'), ['--store', `level:${store}`]);
    expect(second.code).toBe(1);
    expect(second.output).toMatch(/^spindle: ALREADY_RUNNING: /m);
    await stop(runtime);
  });

  it('refuses a bad --store on the command line: one line, INVALID_OPTION, exit 2, nothing created', async () => {
    const data = join(tempDir(), 'data');
    const cases: Array<[string, RegExp]> = [
      ['foo:bar', /^spindle: INVALID_OPTION: --store: unknown kind of store "foo:"; use level:DIR \(a LevelDB store in DIR\), or leave it out for <data>\/store\n$/],
      ['some/dir', /^spindle: INVALID_OPTION: --store: "some\/dir" names no kind of store; for LevelDB in that directory, use level:some\/dir\n$/],
      ['level:', /^spindle: INVALID_OPTION: --store: level: needs a directory, as in level:\/var\/lib\/spindle\/store\n$/],
      [`level:${data}`, /^spindle: INVALID_OPTION: --store: \S+ is the data directory itself; give the store a directory of its own\n$/],
    ];
    for (const [store, message] of cases) {
      const ran = await spindle(['start', '--data', data, '--tasks', FIXTURE_TASKS, '--store', store]);
      expect(ran.code, store).toBe(2);
      expect(ran.stderr, store).toMatch(message);
    }
    expect(existsSync(data)).toBe(false);
  });

  it('reads the store from $SPINDLE_STORE when --store is not given (the flag wins); a bad one is refused naming SPINDLE_STORE', async () => {
    const data = join(tempDir(), 'data');
    const store = join(tempDir(), 'env-store');
    const runtime = background(['start', '--data', data, '--tasks', FIXTURE_TASKS, '--workers', '1'], { env: { SPINDLE_STORE: `level:${store}` } });
    runtimes.push(runtime);
    await runtime.printed('spindle runtime started');
    await later(data);
    await stop(runtime);
    expect(readdirSync(store)).toContain('CURRENT');
    expect(existsSync(join(data, 'store'))).toBe(false);

    const flagged = join(tempDir(), 'flag-store');
    const second = background(['start', '--data', data, '--tasks', FIXTURE_TASKS, '--workers', '1', '--store', `level:${flagged}`], { env: { SPINDLE_STORE: `level:${store}` } });
    runtimes.push(second);
    await second.printed('spindle runtime started');
    await stop(second);
    expect(readdirSync(flagged)).toContain('CURRENT');

    const bad = await spindle(['start', '--data', data, '--tasks', FIXTURE_TASKS], { env: { SPINDLE_STORE: 'foo:bar' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^spindle: INVALID_OPTION: SPINDLE_STORE: unknown kind of store "foo:"; [^\n]+\n$/);
    const repair = await spindle(['repair', '--data', data], { env: { SPINDLE_STORE: 'postgres://root@127.0.0.1:5432/postgres' } });
    expect(repair.code).toBe(2);
    expect(repair.stderr).toMatch(/^spindle: INVALID_OPTION: SPINDLE_STORE: repair is for LevelDB stores/);
  });

  it('fails a start on an unreachable PostgreSQL in one line (STORE_UNAVAILABLE, exit 1), without printing the URL', async () => {
    for (const url of ['postgres://spindle:s3cret@127.0.0.1:1/spindle', 'postgresql://spindle:s3cret@127.0.0.1:1/spindle']) {
      const ran = await spindle(['start', '--data', join(tempDir(), 'data'), '--tasks', FIXTURE_TASKS, '--store', url, '--log-level', 'silent']);
      expect(ran.code, url).toBe(1);
      expect(ran.stderr).toMatch(/^spindle: STORE_UNAVAILABLE: [^\n]+\n$/);
      expect(ran.stdout + ran.stderr).not.toContain('s3cret');
    }
  });

  it('gives DIR the data dir\'s safety checks: a world-writable parent, another user\'s directory, a symlink in it or as it (DATA_DIR_UNSAFE)', async () => {
    const data = join(tempDir(), 'data');
    const open = join(tempDir(), 'open');
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    let ran = await refusedStart(data, ['--store', `level:${join(open, 'store')}`]);
    expect(ran.code).toBe(1);
    expect(ran.output).toMatch(/^spindle: DATA_DIR_UNSAFE: refusing the store directory .*open is writable by others/m);
    expect(readdirSync(open)).toEqual([]);

    const theirs = join(tempDir(), 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, 65534, 65534);
    ran = await refusedStart(data, ['--store', `level:${theirs}`]);
    expect(ran.code).toBe(1);
    expect(ran.output).toMatch(/^spindle: DATA_DIR_UNSAFE: refusing the store directory: .*theirs belongs to uid 65534/m);

    const victim = join(tempDir(), 'victim.txt');
    writeFileSync(victim, 'root secret\n', { mode: 0o600 });
    const planted = join(tempDir(), 'planted');
    mkdirSync(planted, { mode: 0o700 });
    symlinkSync(victim, join(planted, 'MANIFEST-000001'));
    ran = await refusedStart(data, ['--store', `level:${planted}`]);
    expect(ran.code).toBe(1);
    expect(ran.output).toMatch(UNSAFE);
    expect(ran.output).toContain('MANIFEST-000001 is a symlink');

    const link = join(tempDir(), 'link');
    symlinkSync(tempDir(), link);
    ran = await refusedStart(data, ['--store', `level:${link}`]);
    expect(ran.code).toBe(1);
    expect(ran.output).toMatch(/^spindle: DATA_DIR_UNSAFE: refusing the store .*link: it is a symlink/m);
    expect(readFileSync(victim, 'utf8')).toBe('root secret\n');
    expect(lstatSync(victim).mode & 0o777).toBe(0o600);
  });
});

describe('spindle repair --store level:DIR', () => {
  it('repairs that store (not the data dir\'s), after which it starts again with every task', async () => {
    const data = join(tempDir(), 'data');
    const store = join(tempDir(), 'store');
    let runtime = await start(data, store);
    for (let i = 0; i < 3; i++) await later(data);
    await stop(runtime);
    // What a repair that died leaves: its mark, with a pid no longer alive.
    writeFileSync(join(store, 'REPAIRING'), `${deadPid()}\n`);
    const refused = await refusedStart(data, ['--store', `level:${store}`]);
    expect(refused.output).toMatch(/^spindle: STORE_CORRUPT: .*spindle repair/m);

    // Without --store, repair looks in the data dir, where there is no store.
    const elsewhere = await spindle(['repair', '--data', data]);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/^spindle: STORE_INVALID: there is no store at .*data\/store to repair\n$/);

    const repaired = await spindle(['repair', '--data', data, '--store', `level:${store}`, '--json']);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(JSON.parse(repaired.stdout)).toMatchObject({ path: store, before: { queued: 3 }, after: { queued: 3 }, unreadable: 0 });
    expect(existsSync(join(store, 'REPAIRING'))).toBe(false);
    expect(existsSync(join(data, 'store'))).toBe(false);

    runtime = await start(data, store);
    expect((await spindleJson<{ states: Record<string, number> }>(['stats', '--data', data])).states.queued).toBe(3);
    await stop(runtime);
  });

  it('refuses a bad --store (INVALID_OPTION, exit 2) and a DIR another user could have laid out (DATA_DIR_UNSAFE)', async () => {
    const bad = await spindle(['repair', '--store', 'postgres://spindle:s3cret@db.example/spindle', '--json']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^spindle: INVALID_OPTION: --store: repair is for LevelDB stores/);
    expect(JSON.parse(bad.stdout)).toMatchObject({ error: { code: 'INVALID_OPTION', field: '--store' } });
    expect(bad.stdout + bad.stderr).not.toContain('s3cret');

    const victim = join(tempDir(), 'victim.txt');
    writeFileSync(victim, 'root secret\n', { mode: 0o600 });
    const planted = join(tempDir(), 'planted');
    mkdirSync(planted, { mode: 0o700 });
    symlinkSync(victim, join(planted, 'MANIFEST-000001'));
    const ran = await spindle(['repair', '--store', `level:${planted}`]);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(UNSAFE);
    expect(readFileSync(victim, 'utf8')).toBe('root secret\n');
  });
});
