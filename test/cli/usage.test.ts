import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spindle } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/runtime.js';

// Nothing here needs a runtime: a refused command line never reaches one. An empty data directory
// makes sure of it (a command that tried would fail with RUNTIME_UNREACHABLE instead).
const nowhere = (): string[] => ['--data', tempDir()];

afterAll(() => removeTempDirs());

describe('usage errors: what commander refuses', () => {
  const cases: Array<[string, string[], string]> = [
    ['an unknown option', ['submit', 'echo', '--frobnicate'], 'submit'],
    ['an unquoted two-word value (its second word is an excess argument)', ['submit', 'echo', '--timeout', '5', 'minutes'], 'submit'],
    ['a missing argument', ['show'], 'show'],
    ['an excess argument', ['show', 'a', 'b'], 'show'],
    ['an option missing its value', ['list', '--limit'], 'list'],
    ['an unknown command', ['frobnicate'], ''],
  ];

  for (const [what, args, command] of cases) {
    it(`${what}: one line INVALID_ARGUMENT with the help hint, no usage dump, exit 2`, async () => {
      const ran = await spindle([...args, ...nowhere()]);
      expect(ran.code).toBe(2);
      expect(ran.stdout).toBe('');
      const lines = ran.stderr.split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^spindle: INVALID_ARGUMENT: /);
      expect(lines[0]!.endsWith(`(hint: spindle help${command === '' ? '' : ` ${command}`})`)).toBe(true);
      expect(ran.stderr).not.toContain('Usage:');
    });
  }

  it('with --json, the same error is JSON on stdout, for usage errors too', async () => {
    for (const args of [['submit', 'echo', '--frobnicate'], ['show'], ['frobnicate'], ['submit', '--file', '/nonexistent'], ['submit', 'echo', '--max-tries', 'many']]) {
      const ran = await spindle([...args, '--json', ...nowhere()]);
      expect(ran.code, args.join(' ')).toBe(2);
      const { error } = JSON.parse(ran.stdout) as { error: { code: string; message: string } };
      expect(error.code, args.join(' ')).toMatch(/^(INVALID_ARGUMENT|FILE_UNREADABLE)$/);
      expect(typeof error.message).toBe('string');
    }
  });

  it('a runtime error still exits 1 (and is JSON with --json)', async () => {
    const ran = await spindle(['stats', '--json', ...nowhere()]);
    expect(ran.code).toBe(1);
    expect(JSON.parse(ran.stdout)).toMatchObject({ error: { code: 'RUNTIME_UNREACHABLE' } });
  });

  it('`spindle` alone prints the help on stderr and exits 2; `spindle help show` exits 0', async () => {
    const bare = await spindle([]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: spindle');
    const help = await spindle(['help', 'show']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: spindle show');
  });
});

describe('spindle --version', () => {
  it('prints the package version with --version and -V, and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      expect(await spindle([flag])).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });
});

describe('files named on the command line', () => {
  it('submit --file with a missing file, or a directory, is FILE_UNREADABLE (exit 2), not ENOENT', async () => {
    for (const file of [join(tempDir(), 'missing.jsonl'), tempDir()]) {
      const ran = await spindle(['submit', '--file', file, '--json', ...nowhere()]);
      expect(ran.code).toBe(2);
      const { error } = JSON.parse(ran.stdout) as { error: { code: string; path: string; field: string } };
      expect(error).toMatchObject({ code: 'FILE_UNREADABLE', path: file, field: '--file' });
      expect(ran.stderr).toMatch(/^spindle: FILE_UNREADABLE: [^\n]+\n$/);
    }
  });

  it('--params @FILE that is missing is FILE_UNREADABLE; one that is not a JSON object is INVALID_ARGUMENT; both exit 2', async () => {
    const dir = tempDir();
    const missing = await spindle(['submit', 'echo', '--params', `@${join(dir, 'missing.json')}`, '--json', ...nowhere()]);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout)).toMatchObject({ error: { code: 'FILE_UNREADABLE', field: '--params' } });
    for (const [name, text] of [['broken.json', '{"name":\n'], ['list.json', '[1, 2]']] as const) {
      writeFileSync(join(dir, name), text);
      const ran = await spindle(['submit', 'echo', '--params', `@${join(dir, name)}`, ...nowhere()]);
      expect(ran.code, name).toBe(2);
      expect(ran.stderr, name).toMatch(/^spindle: INVALID_ARGUMENT: [^\n]+\n$/);
    }
  });
});
