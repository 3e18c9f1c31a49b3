import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type Background, spindle, startRuntime, killBackground } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/runtime.js';

const LOG_TASKS = fileURLToPath(new URL('../fixtures/log-tasks', import.meta.url));

let runtime: Background | undefined;

afterEach(async () => {
  await killBackground(runtime);
  runtime = undefined;
  removeTempDirs();
});

/** Every key of a JSON object written more than once, at any depth; read from the text, since JSON.parse keeps only the last. */
function duplicateKeys(raw: string): string[] {
  const found: string[] = [];
  const stack: Array<Set<string>> = [];
  // Walks the text token by token: strings (keys or values), and the braces that open and close objects.
  const tokens = raw.matchAll(/"((?:[^"\\]|\\.)*)"\s*(:)?|[{}]/g);
  for (const [token, key, colon] of tokens) {
    if (token === '{') stack.push(new Set());
    else if (token === '}') stack.pop();
    else if (colon !== undefined && key !== undefined) {
      const keys = stack.at(-1)!;
      if (keys.has(key)) found.push(key);
      keys.add(key);
    }
  }
  return found;
}

/** Submits `type` with --wait; the task id and the CLI's exit code. */
async function run(data: string, type: string): Promise<{ id: string; code: number | null }> {
  const ran = await spindle(['submit', type, '--wait', '--json', '--data', data]);
  const id = (JSON.parse(ran.stdout) as { id?: string }).id ?? /task (\S+) /.exec(ran.stderr)?.[1];
  if (id === undefined) throw new Error(`no task id in ${ran.stdout} ${ran.stderr}`);
  return { id, code: ran.code };
}

describe('spindle start --log-format', () => {
  it.each(['threads', 'processes'])('json: every stdout line is JSON with no key twice, and a handler\'s ctx.log and printed lines are tagged with its task (%s)', async (mode) => {
    const data = tempDir();
    runtime = await startRuntime(data, LOG_TASKS, ['--mode', mode, '--log-format', 'json']);
    const chatty = await run(data, 'chatty');
    expect(chatty.code).toBe(0);
    const fails = await run(data, 'fails');
    expect(fails.code).toBe(1);
    await runtime.printed('fails on purpose');
    await spindle(['stop', '--data', data]);
    expect((await runtime.exited).code).toBe(0);

    const stdout = runtime.stdout();
    const raw = stdout.split('\n').filter((l) => l !== '');
    for (const line of raw) expect(duplicateKeys(line), line).toEqual([]);
    const lines = raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    const tags = (id: string, type: string) => ({ taskId: id, type, attempt: 1, worker: expect.stringMatching(mode === 'threads' ? /^thread-/ : /^process-/) });
    const of = (msg: string) => lines.find((l) => l.msg === msg);
    expect(of('chatty ctx.log line')).toMatchObject({ ...tags(chatty.id, 'chatty'), level: 30, note: null });
    expect(of('chatty console.log line')).toMatchObject({ ...tags(chatty.id, 'chatty'), level: 30, stream: 'stdout' });
    expect(of('chatty console.error line')).toMatchObject({ ...tags(chatty.id, 'chatty'), level: 40, stream: 'stderr' });
    expect(of('chatty stdout write line')).toMatchObject({ ...tags(chatty.id, 'chatty'), level: 30, stream: 'stdout' });
    expect(of('fails console.log line')).toMatchObject({ ...tags(fails.id, 'fails'), stream: 'stdout' });
    expect(lines.find((l) => l.taskId === fails.id && l.outcome === 'failed')).toMatchObject({ level: 50, type: 'fails', attempt: 1, code: 'HANDLER_ERROR', message: 'fails on purpose' });
    const started = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('spindle runtime started'));
    expect(started).toHaveLength(1);
    expect(started[0]!.msg).toMatch(/^spindle runtime started: 2 task types on 2 (threads|processes), socket /);
  });

  it.each(['threads', 'processes'])('pretty: no JSON among the lines, a handler\'s lines come out pretty with their task\'s tags, and start-up takes one line (%s)', async (mode) => {
    const data = tempDir();
    runtime = await startRuntime(data, LOG_TASKS, ['--mode', mode, '--log-format', 'pretty']);
    const chatty = await run(data, 'chatty');
    expect(chatty.code).toBe(0);
    await runtime.printed('chatty stdout write line');
    await spindle(['stop', '--data', data]);
    expect((await runtime.exited).code).toBe(0);

    const raw = runtime.stdout().split('\n').filter((l) => l !== '');
    expect(raw.filter((l) => l.startsWith('{'))).toEqual([]);
    for (const [msg, level] of [['chatty ctx.log line', 'INFO'], ['chatty console.log line', 'INFO'], ['chatty console.error line', 'WARN'], ['chatty stdout write line', 'INFO']] as const) {
      const line = raw.find((l) => l.includes(msg));
      expect(line, msg).toMatch(new RegExp(`^\\[[\\d:.]+\\] ${level}: ${msg} \\{.*"taskId":"${chatty.id}"`));
      expect(line).toContain('"type":"chatty"');
      expect(line).toContain('"attempt":1');
      expect(duplicateKeys(line!.slice(line!.indexOf('{')))).toEqual([]);
    }
    const started = raw.findIndex((l) => l.includes('spindle runtime started'));
    expect(raw[started]).toMatch(/INFO: spindle runtime started: 2 task types on 2 /);
    // The next line is the next event, not the start-up line's fields spread over many lines.
    expect(raw[started + 1]).toMatch(/^\[[\d:.]+\] [A-Z]+: /);
  });

  it('refuses a format it does not know, with INVALID_OPTION', async () => {
    const ran = await spindle(['start', '--data', tempDir(), '--tasks', LOG_TASKS, '--log-format', 'xml']);
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toMatch(/^spindle: INVALID_OPTION: logFormat: must be "pretty" or "json", got "xml"/);
  });
});
