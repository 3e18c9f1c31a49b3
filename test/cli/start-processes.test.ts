import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isGone, workersOf } from '../helpers/processes.js';
import { until } from '../helpers/runtime.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../examples/tasks', import.meta.url));

const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  removeTempDirs();
});

/** `spindle start --mode processes`, resolved with the parsed 'spindle runtime started' log line. */
async function startProcesses(): Promise<{ cli: ChildProcess; line: Record<string, unknown>; exited: Promise<number | null> }> {
  const cli = spawn(process.execPath, [CLI, 'start', '--data', tempDir(), '--tasks', EXAMPLES, '--mode', 'processes', '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(cli);
  const exited = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)));
  let out = '';
  const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
    cli.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = out.split('\n').find((l) => l.includes('spindle runtime started'));
      if (found !== undefined) resolve(JSON.parse(found) as Record<string, unknown>);
    });
    cli.stderr!.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    cli.on('exit', (code) => reject(new Error(`exited with ${code} before starting:\n${out}`)));
  });
  return { cli, line, exited };
}

describe('spindle start --mode processes', () => {
  it('starts a pool of child processes and stops every one of them on SIGTERM', async () => {
    const { cli, line, exited } = await startProcesses();
    expect(line).toMatchObject({ mode: 'processes', pools: [{ mode: 'processes', size: 2 }] });
    const workers = workersOf(cli.pid!);
    expect(workers).toHaveLength(2);
    cli.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(workers.filter((pid) => !isGone(pid))).toEqual([]);
  });

  it('leaves no worker process behind when the runtime itself is SIGKILLed', async () => {
    const { cli, exited } = await startProcesses();
    const workers = workersOf(cli.pid!);
    expect(workers).toHaveLength(2);
    cli.kill('SIGKILL');
    await exited;
    await until(() => workers.every(isGone));
  });
});
