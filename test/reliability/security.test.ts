import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/client.js';
import { untrustedComponent } from '../../src/api/trusted-path.js';
import { CLI, background, type Background, spindle, spindleJson } from '../helpers/cli.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir } from '../helpers/runtime.js';

// Real second users: a throwaway account plays the attacker, `nobody` the stranger of X1. The
// suite runs as root (as CI does); setpriv switches uid for a single command.
const ATTACKER = `spindle-test-${process.pid}`;
let attacker = { uid: -1, gid: -1 };
const NOBODY = { uid: 65534, gid: 65534 };

beforeAll(() => {
  execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', ATTACKER]);
  attacker = { uid: Number(execFileSync('id', ['-u', ATTACKER]).toString()), gid: Number(execFileSync('id', ['-g', ATTACKER]).toString()) };
});

const children: ChildProcess[] = [];
const runtimes: Background[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await new Promise((r) => c.once('exit', r));
    }
  }
  for (const r of runtimes.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) {
      r.child.kill('SIGKILL');
      await r.exited;
    }
  }
  removeTempDirs();
});

afterAll(() => {
  execFileSync('userdel', ['--remove', ATTACKER], { stdio: 'ignore' });
});

const as = (who: { uid: number; gid: number }, cmd: string, ...args: string[]): string[] =>
  ['setpriv', `--reuid=${who.uid}`, `--regid=${who.gid}`, '--clear-groups', cmd, ...args];

/** Runs a command as another user, to completion. */
function runAs(who: { uid: number; gid: number }, cmd: string, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const [bin, ...rest] = as(who, cmd, ...args);
  try {
    return { code: 0, stdout: execFileSync(bin!, rest, { stdio: ['ignore', 'pipe', 'pipe'] }).toString(), stderr: '' };
  } catch (err) {
    const e = err as { status: number; stdout: Buffer; stderr: Buffer };
    return { code: e.status, stdout: e.stdout.toString(), stderr: e.stderr.toString() };
  }
}

/** A directory like /tmp (root's, sticky, world-writable), where the attacker can make things. */
function sharedDir(): string {
  const dir = tempDir('spindle-shared-');
  chmodSync(dir, 0o1777);
  return dir;
}

/** Root's private file, which the attack aims to overwrite. */
function victimFile(): string {
  const file = join(tempDir('spindle-victim-'), 'victim.txt');
  writeFileSync(file, 'root secret\n', { mode: 0o600 });
  return file;
}

const victimIntact = (file: string): void => {
  expect(readFileSync(file, 'utf8')).toBe('root secret\n');
  expect(statSync(file).mode & 0o777).toBe(0o600);
};

/**
 * Root's `spindle start`, as a real process: resolves with its exit once it exits, or fails the
 * test if it starts serving instead (a runtime that accepted the directory never exits by itself).
 */
async function rootStart(data: string, extra: string[] = []): Promise<{ code: number | null; output: string }> {
  const runtime = background(['start', '--data', data, '--tasks', FIXTURE_TASKS, '--workers', '1', ...extra]);
  runtimes.push(runtime);
  const outcome = await Promise.race([runtime.exited.then(({ code }) => ({ code })), runtime.printed('spindle runtime started').then(() => 'started' as const)]);
  if (outcome === 'started') throw new Error(`the runtime accepted ${data} and started:\n${runtime.output()}`);
  return { code: outcome.code, output: runtime.output() };
}

const UNSAFE = /^spindle: DATA_DIR_UNSAFE: /m;

describe('issue 14 defect 7: a data dir another user could have prepared is refused (DATA_DIR_UNSAFE)', () => {
  it('refuses a data dir another user made with store/MANIFEST-000001 → root\'s 0600 file, and leaves the file and the dir as they were', async () => {
    const victim = victimFile();
    const data = join(sharedDir(), 'data');
    expect(runAs(attacker, 'mkdir', '-p', join(data, 'store')).code).toBe(0);
    expect(runAs(attacker, 'ln', '-s', victim, join(data, 'store', 'MANIFEST-000001')).code).toBe(0);
    const modeBefore = statSync(data).mode;

    const ran = await rootStart(data);
    expect(ran.code).toBe(1);
    expect(ran.output).toMatch(UNSAFE);
    victimIntact(victim);
    expect(statSync(data).mode).toBe(modeBefore);
    expect(statSync(data).uid).toBe(attacker.uid);
  });

  it('refuses root\'s data dir left writable by others, where another user planted the store', async () => {
    const victim = victimFile();
    const data = join(sharedDir(), 'data');
    mkdirSync(data);
    chmodSync(data, 0o777);
    expect(runAs(attacker, 'mkdir', join(data, 'store')).code).toBe(0);
    expect(runAs(attacker, 'ln', '-s', victim, join(data, 'store', 'MANIFEST-000001')).code).toBe(0);

    const ran = await rootStart(data);
    expect(ran.code).toBe(1);
    expect(ran.output).toMatch(UNSAFE);
    victimIntact(victim);
    expect(statSync(data).mode & 0o777).toBe(0o777);
  });

  it('refuses a store another user planted while root\'s data dir was open, even after root made the dir private again', async () => {
    const victim = victimFile();
    const data = join(sharedDir(), 'data');
    mkdirSync(data, { mode: 0o777 });
    chmodSync(data, 0o777);
    expect(runAs(attacker, 'mkdir', join(data, 'store')).code).toBe(0);
    expect(runAs(attacker, 'ln', '-s', victim, join(data, 'store', 'MANIFEST-000001')).code).toBe(0);
    chmodSync(data, 0o700);

    const ran = await rootStart(data);
    expect(ran.code).toBe(1);
    expect(ran.output).toMatch(UNSAFE);
    victimIntact(victim);
  });

  it('never follows a symlink in the store, even one root made: an entry or the store dir itself', async () => {
    const victim = victimFile();
    const entry = tempDir();
    mkdirSync(join(entry, 'store'));
    symlinkSync(victim, join(entry, 'store', 'MANIFEST-000001'));
    const whole = tempDir();
    const elsewhere = tempDir();
    symlinkSync(elsewhere, join(whole, 'store'));
    for (const data of [entry, whole]) {
      const ran = await rootStart(data);
      expect(ran.code, data).toBe(1);
      expect(ran.output, data).toMatch(UNSAFE);
    }
    victimIntact(victim);
    expect(existsSync(join(elsewhere, 'CURRENT'))).toBe(false);
  });

  it('refuses a data dir under a directory another user owns, or under a world-writable one without the sticky bit', async () => {
    const theirs = join(sharedDir(), 'theirs');
    expect(runAs(attacker, 'mkdir', '-m', '755', theirs).code).toBe(0);
    const open = join(tempDir(), 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    for (const data of [join(theirs, 'data'), join(open, 'data')]) {
      const ran = await rootStart(data);
      expect(ran.code, data).toBe(1);
      expect(ran.output, data).toMatch(UNSAFE);
      expect(existsSync(data), data).toBe(false);
    }
  });

  it('refuses --socket in a directory another user owns, where they could swap the socket', async () => {
    const theirs = join(sharedDir(), 'theirs');
    expect(runAs(attacker, 'mkdir', '-m', '755', theirs).code).toBe(0);
    const data = join(tempDir(), 'data');
    const ran = await rootStart(data, ['--socket', join(theirs, 'spindle.sock')]);
    expect(ran.code).toBe(1);
    expect(ran.output).toMatch(UNSAFE);
    expect(existsSync(data)).toBe(false);
  });

  it('follows a data path that is a symlink only when the link is root\'s own; another user\'s link is refused', async () => {
    const shared = sharedDir();
    const target = tempDir();
    const theirLink = join(shared, 'their-link');
    expect(runAs(attacker, 'ln', '-s', target, theirLink).code).toBe(0);
    const refused = await rootStart(theirLink);
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(UNSAFE);
    expect(existsSync(join(target, 'store'))).toBe(false);

    const ownLink = join(shared, 'own-link');
    symlinkSync(target, ownLink);
    const runtime = background(['start', '--data', ownLink, '--tasks', FIXTURE_TASKS, '--workers', '1']);
    runtimes.push(runtime);
    await runtime.printed('spindle runtime started');
    expect(lstatSync(join(target, 'spindle.sock')).isSocket()).toBe(true);
  });

  it('accepts a data dir in a sticky world-writable root directory, like /tmp', async () => {
    const data = join(sharedDir(), 'data');
    const runtime = background(['start', '--data', data, '--tasks', FIXTURE_TASKS, '--workers', '1']);
    runtimes.push(runtime);
    await runtime.printed('spindle runtime started');
    expect(statSync(data).mode & 0o777).toBe(0o700);
  });

  it('spindle repair refuses a store another user planted, and leaves root\'s file alone', async () => {
    const victim = victimFile();
    const data = join(sharedDir(), 'data');
    expect(runAs(attacker, 'mkdir', '-p', join(data, 'store')).code).toBe(0);
    expect(runAs(attacker, 'ln', '-s', victim, join(data, 'store', 'MANIFEST-000001')).code).toBe(0);
    const ran = await spindle(['repair', '--data', data]);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(UNSAFE);
    victimIntact(victim);
  });
});

const FAKE_SERVER = `
import { createServer } from 'node:net';
const path = process.argv[2];
let bytes = 0;
createServer((socket) => {
  process.stdout.write('connection\\n');
  socket.on('data', (chunk) => {
    bytes += chunk.length;
    process.stdout.write('bytes ' + bytes + '\\n');
    for (const line of chunk.toString().split('\\n').filter(Boolean)) {
      const { id } = JSON.parse(line);
      socket.write(JSON.stringify({ jsonrpc: '2.0', id, result: { id: '0fake', type: 'echo', state: 'queued' } }) + '\\n');
    }
  });
}).listen(path, () => process.stdout.write('listening\\n'));
`;

/** A server another user runs at `path`, recording what reaches it. */
async function plantFakeServer(path: string): Promise<{ output: () => string }> {
  const script = join(sharedDir(), 'fake-server.mjs');
  writeFileSync(script, FAKE_SERVER, { mode: 0o644 });
  const [bin, ...args] = as(attacker, process.execPath, script, path);
  const child = spawn(bin!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', () => { if (out.includes('listening')) resolve(); });
    child.once('exit', (code) => reject(new Error(`the fake server exited (${code}): ${out}`)));
  });
  expect(lstatSync(path).uid).toBe(attacker.uid);
  return { output: () => out };
}

describe('issue 14 defect 7: the client refuses a socket another user planted (RUNTIME_UNTRUSTED)', () => {
  it('root\'s CLI sends nothing to another user\'s server at --socket PATH in a shared directory', async () => {
    const path = join(sharedDir(), 'spindle.sock');
    const fake = await plantFakeServer(path);
    const ran = await spindle(['submit', 'echo', '--params', '{"password":"hunter2"}', '--socket', path]);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/^spindle: RUNTIME_UNTRUSTED: /m);
    expect(ran.stdout).not.toContain('0fake');
    expect(fake.output()).not.toContain('connection');
    expect(fake.output()).not.toContain('bytes');
  });

  it('root\'s CLI sends nothing to a server in a data dir another user owns', async () => {
    const data = join(sharedDir(), 'data');
    expect(runAs(attacker, 'mkdir', '-m', '700', data).code).toBe(0);
    const fake = await plantFakeServer(join(data, 'spindle.sock'));
    const ran = await spindle(['submit', 'echo', '--params', '{"password":"hunter2"}', '--data', data]);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/^spindle: RUNTIME_UNTRUSTED: /m);
    expect(fake.output()).not.toContain('connection');
  });

  it('the Client refuses it too, with RUNTIME_UNTRUSTED and the path at fault', async () => {
    const path = join(sharedDir(), 'spindle.sock');
    const fake = await plantFakeServer(path);
    const err = await Client.connect({ socket: path, reconnectWindowMs: 0 }).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'RUNTIME_UNTRUSTED', details: { path } });
    expect(fake.output()).not.toContain('connection');
  });
});

/** A raw connect-and-submit from another uid: the error code it got, or what the runtime answered. */
function rawSubmitAs(who: { uid: number; gid: number }, socket: string): string {
  const script = `
    const s = require('node:net').connect(${JSON.stringify(socket)});
    s.on('error', (e) => { process.stdout.write(e.code); process.exit(0); });
    s.on('connect', () => s.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'task.submit', params: { type: 'echo' } }) + '\\n'));
    s.on('data', (d) => { process.stdout.write('answered ' + d); process.exit(0); });`;
  return runAs(who, process.execPath, '-e', script).stdout;
}

describe('X1: the socket is private to the runtime\'s user', () => {
  it('X1: a client running as uid 65534 gets EACCES, from the 0700 dir and from the 0600 socket itself, and nothing is stored', async () => {
    const base = tempDir();
    chmodSync(base, 0o755);
    const data = join(base, 'data');
    const runtime = background(['start', '--data', data, '--tasks', FIXTURE_TASKS, '--workers', '1'], { umask: '000' });
    runtimes.push(runtime);
    await runtime.printed('spindle runtime started');
    const socket = join(data, 'spindle.sock');
    expect(statSync(data).mode & 0o777).toBe(0o700);
    expect(statSync(socket).mode & 0o777).toBe(0o600);

    expect(rawSubmitAs(NOBODY, socket)).toBe('EACCES');
    // Open the directory: the socket's own mode must still keep the stranger out.
    chmodSync(data, 0o755);
    expect(rawSubmitAs(NOBODY, socket)).toBe('EACCES');
    const cli = runAs(NOBODY, process.execPath, CLI, 'submit', 'echo', '--data', data);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/^spindle: RUNTIME_UNREACHABLE: permission denied/m);

    expect((await spindleJson<{ tasks: unknown[] }>(['list', '--data', data])).tasks).toEqual([]);
  });
});

describe('X2: a type name never reaches the filesystem or the module loader', () => {
  it('X2: over a real runtime\'s socket, hostile type names and a symlink out of the tasks dir are refused, and the sentinel never runs', async () => {
    const outside = tempDir('spindle-outside-');
    const marker = join(outside, 'imported.marker');
    const sentinel = `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport default { name: 'sentinel', run() {} };\n`;
    const root = tempDir();
    const tasks = join(root, 'a', 'tasks');
    mkdirSync(tasks, { recursive: true });
    writeFileSync(join(tasks, 'ok.mjs'), `export default { name: 'ok', run(p) { return p; } };\n`);
    writeFileSync(join(outside, 'sentinel.mjs'), sentinel);
    symlinkSync(join(outside, 'sentinel.mjs'), join(tasks, 'evil.mjs'));
    // A sentinel wherever a name read as a path could lead.
    for (const file of ['x', 'x.mjs', 'x.js']) writeFileSync(resolve(tasks, '../../', file), sentinel);
    const data = join(root, 'data');
    const runtime = background(['start', '--data', data, '--tasks', tasks, '--workers', '1']);
    runtimes.push(runtime);
    await runtime.printed('spindle runtime started');

    const client = await Client.connect({ data, reconnectWindowMs: 0 });
    try {
      const names = ['../../x', '../../x.mjs', '/etc/passwd', 'node:child_process', pathToFileURL(join(outside, 'sentinel.mjs')).href, 'ok\0', 'o'.repeat(300), 'sentinel', 'evil'];
      for (const type of names) {
        await expect(client.submit({ type }), JSON.stringify(type)).rejects.toMatchObject({ code: 'UNKNOWN_TYPE' });
      }
      expect((await client.list()).tasks).toEqual([]);
      expect((await client.types()).map((t) => t.name)).toEqual(['ok']);
    } finally {
      await client.close();
    }
    expect(existsSync(marker)).toBe(false);
  });
});

describe('the ownership walk behind both checks (untrustedComponent)', () => {
  it('accepts root\'s sticky world-writable directory and refuses another user\'s sticky one', () => {
    expect(untrustedComponent(join(sharedDir(), 'x'), 0)).toBeNull();
    const theirs = join(sharedDir(), 'theirs');
    expect(runAs(attacker, 'mkdir', '-m', '1777', theirs).code).toBe(0);
    expect(untrustedComponent(join(theirs, 'x'), 0)).toMatchObject({ path: theirs, problem: 'owner', uid: attacker.uid });
  });

  it('refuses a group-writable directory on the way, and accepts the same one once chmod go-w', () => {
    const dir = join(tempDir(), 'team');
    mkdirSync(dir);
    chmodSync(dir, 0o770);
    expect(untrustedComponent(join(dir, 'data'), 0)).toMatchObject({ path: dir, problem: 'writable', mode: 0o770 });
    chmodSync(dir, 0o750);
    expect(untrustedComponent(join(dir, 'data'), 0)).toBeNull();
  });

  it('checks where a link really leads: root\'s link into another user\'s directory is refused', () => {
    const theirs = join(sharedDir(), 'theirs');
    expect(runAs(attacker, 'mkdir', '-m', '755', theirs).code).toBe(0);
    const link = join(tempDir(), 'link');
    symlinkSync(theirs, link);
    expect(untrustedComponent(join(link, 'data'), 0)).toMatchObject({ path: theirs, problem: 'owner' });
  });
});
