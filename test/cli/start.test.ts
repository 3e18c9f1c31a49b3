import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../examples/tasks', import.meta.url));

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  removeTempDirs();
});

function spindle(args: string[]): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

function started(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => { if (c.toString().includes('spindle runtime started')) resolve(); });
    child.on('exit', (code) => reject(new Error(`exited with ${code} before starting`)));
  });
}

describe('spindle start', () => {
  it('runs until SIGTERM, refuses a second runtime on its data dir, and exits 0 when stopped', async () => {
    const data = tempDir();
    const first = spindle(['start', '--data', data, '--tasks', EXAMPLES, '--workers', '1']);
    await started(first.child);
    expect(first.out()).toMatch(/"types":\["cpu-heavy","flaky","hello","slow"\]/);

    const second = spindle(['start', '--data', data, '--tasks', EXAMPLES]);
    expect(await second.exited).toBe(1);
    expect(second.out()).toMatch(/^spindle: ALREADY_RUNNING: /m);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.out()).toContain('spindle runtime stopped');
  });

  it('refuses a bad flag with a one-line message and exit code 2 (a usage error)', async () => {
    const run = spindle(['start', '--data', tempDir(), '--tasks', EXAMPLES, '--workers', 'many']);
    expect(await run.exited).toBe(2);
    expect(run.out().trim()).toMatch(/^spindle: INVALID_OPTION: --workers/);
  });
});
