import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubmittedView } from '../../src/index.js';
import { type Background, spindle, spindleJson, startRuntime, killBackground } from '../helpers/cli.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir } from '../helpers/runtime.js';

// One runtime, started by the real CLI; each test uses its own keys.
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

describe('submits deduplicated by key', () => {
  it('prints "existing ID" when a key returned a task that already held it, "submitted ID" otherwise', async () => {
    const first = await spindle(['submit', 'echo', '--params', '{"n":1}', '--in', '1h', '--key', 'dedup-1', ...at()]);
    expect(first.code).toBe(0);
    const id = /^submitted (\S+) \(echo, /.exec(first.stdout)?.[1];
    expect(id).toBeDefined();
    const again = await spindle(['submit', 'echo', '--params', '{"n":1}', '--in', '1h', '--key', 'dedup-1', ...at()]);
    expect(again.code).toBe(0);
    expect(again.stdout.startsWith(`existing ${id} (echo, `)).toBe(true);
  });

  it('answers existing: true for a task the key returned and false for a new one, in task.submit and task.submitMany', async () => {
    const created = await spindleJson<SubmittedView>(['submit', 'echo', '--params', '{"n":2}', '--in', '1h', '--key', 'dedup-2', ...at()]);
    expect(created.existing).toBe(false);
    const found = await spindleJson<SubmittedView>(['submit', 'echo', '--params', '{"n":2}', '--in', '1h', '--key', 'dedup-2', ...at()]);
    expect(found).toMatchObject({ id: created.id, existing: true });

    const lines = [
      '{"type":"echo","params":{"n":2},"schedule":{"in":"1h"},"key":"dedup-2"}',
      '{"type":"echo","params":{"n":3},"schedule":{"in":"1h"},"key":"dedup-3"}',
      '{"type":"echo","params":{"n":3},"schedule":{"in":"1h"},"key":"dedup-3"}',
    ].join('\n');
    const many = await spindleJson<SubmittedView[]>(['submit', '--file', '-', ...at()], { input: `${lines}\n` });
    expect(many.map((t) => t.existing)).toEqual([true, false, true]);
    expect(many[0]!.id).toBe(created.id);
    expect(many[2]!.id).toBe(many[1]!.id);

    const human = await spindle(['submit', '--file', '-', ...at()], { input: `${lines}\n` });
    expect(human).toMatchObject({ code: 0, stdout: 'submitted 0 tasks from stdin, 3 existing (by key)\n' });
  });
});
