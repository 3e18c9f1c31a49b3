import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Background, spindle, startRuntime, killBackground } from '../helpers/cli.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir } from '../helpers/runtime.js';

let runtime: Background | undefined;

afterEach(async () => {
  await killBackground(runtime);
  runtime = undefined;
  removeTempDirs();
});

/** The JSON lines `spindle start` printed (stdout is a pipe: no pretty printing). */
const jsonLines = (output: string): string[] => output.split('\n').filter((l) => l.startsWith('{'));

/** Top-level keys written more than once in a flat JSON line (JSON.parse keeps only the last). */
function duplicateKeys(raw: string): string[] {
  return Object.keys(JSON.parse(raw) as object).filter((k) => raw.split(`"${k}":`).length - 1 !== 1);
}

describe('spindle start logs', () => {
  it('writes a line for each failed try of a task that fails all its tries, and for a handler\'s process.exit(3)', async () => {
    const data = tempDir();
    runtime = await startRuntime(data, FIXTURE_TASKS, ['--log-level', 'debug']);
    const failed = await spindle(['submit', 'throws', '--max-tries', '2', '--wait', '--data', data]);
    expect(failed.code).toBe(1);
    const exited = await spindle(['submit', 'exit', '--params', '{"code":3}', '--max-tries', '1', '--wait', '--data', data]);
    expect(exited.code).toBe(1);
    const id = (ran: { stderr: string }): string => /task (\S+) /.exec(ran.stderr)![1]!;
    const lines = jsonLines(runtime.output());
    const of = (taskId: string): Array<Record<string, unknown>> =>
      lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.taskId === taskId && l.outcome !== undefined);
    expect(of(id(failed)).map((l) => [l.level, l.attempt, l.code, l.state])).toEqual([[40, 1, 'HANDLER_ERROR', 'queued'], [50, 2, 'HANDLER_ERROR', 'failed']]);
    expect(of(id(failed))[1]!.stack).toBeTypeOf('string');
    expect(of(id(exited)).map((l) => [l.level, l.attempt, l.code, l.exitCode, l.state, l.reason])).toEqual([[50, 1, 'WORKER_EXITED', 3, 'failed', 'lost']]);
    for (const line of lines.filter((l) => l.includes(id(failed)) || l.includes(id(exited)))) expect(duplicateKeys(line), line).toEqual([]);
  });

  it.each(['threads', 'processes'])('writes a handler\'s ctx.log fields once, the handler\'s value winning over the bound one (%s)', async (mode) => {
    const data = tempDir();
    runtime = await startRuntime(data, FIXTURE_TASKS, ['--mode', mode]);
    const ran = await spindle(['submit', 'log-fields', '--wait', '--data', data]);
    expect(ran.code).toBe(0);
    await runtime.printed('log-fields line');
    const raw = jsonLines(runtime.output()).find((l) => l.includes('log-fields line'))!;
    expect(duplicateKeys(raw)).toEqual([]);
    expect(JSON.parse(raw)).toMatchObject({ attempt: 99, taskId: 'from-the-handler', worker: expect.any(String) });
  });

  it('warns about a tasks folder holding no modules, and about each file it skipped, and still starts', async () => {
    const data = tempDir();
    const tasks = tempDir();
    writeFileSync(join(tasks, 'old.cjs'), 'module.exports = {};\n');
    mkdirSync(join(tasks, 'lib'));
    runtime = await startRuntime(data, tasks);
    const lines = jsonLines(runtime.output()).map((l) => JSON.parse(l) as Record<string, unknown>);
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings.map((l) => l.file ?? l.tasksDir)).toEqual([join(tasks, 'lib'), join(tasks, 'old.cjs'), tasks]);
    const types = await spindle(['types', '--data', data]);
    expect(types.code).toBe(0);
  });
});
