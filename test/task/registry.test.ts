import { existsSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MINUTE, SECOND } from '../../src/duration.js';
import { SpindleError } from '../../src/errors.js';
import type { Registry, TaskSource } from '../../src/task/registry.js';
import { loadRegistry, lookupType } from '../../src/task/registry.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { errorOf } from '../helpers/errors.js';

const silent = pino({ level: 'silent' });
const DEFINE_TASK_URL = pathToFileURL(join(import.meta.dirname, '../../src/task/define-task.ts')).href;


/** Writes each `name → source` into a fresh temp dir and returns the dir. */
function tasksDir(files: Record<string, string>): string {
  const dir = tempDir('spindle-tasks-');
  for (const [name, source] of Object.entries(files)) writeFileSync(join(dir, name), source);
  return dir;
}

const mjs = (name: string, extra = '') => `export default { name: ${JSON.stringify(name)},${extra} run(p) { return p; } };\n`;

function collectingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>); } });
  return { logger, lines };
}

afterAll(removeTempDirs);

describe('loadRegistry', () => {
  it('loads a plain-object .mjs module with every default filled in', async () => {
    const dir = tasksDir({ 'hello.mjs': mjs('hello') });
    const reg = await loadRegistry({ tasksDir: dir, logger: silent });
    expect(reg.problems).toEqual([]);
    const t = reg.types.get('hello')!;
    expect(t).toMatchObject({
      name: 'hello',
      description: undefined,
      file: realpathSync(join(dir, 'hello.mjs')),
      paramsSchema: undefined,
      timeoutMs: 10 * MINUTE,
      maxTries: 3,
      retry: { delayMs: 1 * SECOND, backoff: 2, maxDelayMs: 5 * MINUTE, jitter: 0.2 },
      concurrency: null,
      priority: 0,
      maxQueued: null,
      isolation: undefined,
      retentionMs: undefined,
    });
    expect(Object.isFrozen(t)).toBe(true);
    expect(Object.isFrozen(reg.problems)).toBe(true);
  });

  it('resolves every option a module sets', async () => {
    const dir = tasksDir({
      'full.js': `export default {
        name: 'fetch-feed.v2', description: 'Fetch one feed',
        params: { type: 'object' },
        timeout: '30s', maxTries: 5, retry: { delay: '2s', backoff: 3, maxDelay: '1m', jitter: 0 },
        concurrency: 4, priority: -7, maxQueued: 10000, isolation: 'process', retention: 'forever',
        async run() {},
      };\n`,
    });
    const reg = await loadRegistry({ tasksDir: dir, logger: silent });
    expect(reg.problems).toEqual([]);
    expect(reg.types.get('fetch-feed.v2')).toMatchObject({
      description: 'Fetch one feed',
      paramsSchema: { type: 'object' },
      timeoutMs: 30 * SECOND,
      maxTries: 5,
      retry: { delayMs: 2 * SECOND, backoff: 3, maxDelayMs: 1 * MINUTE, jitter: 0 },
      concurrency: 4,
      priority: -7,
      maxQueued: 10000,
      isolation: 'process',
      retentionMs: null,
    });
  });

  it('loads a .ts module written with defineTask outside any "type": "module" package', async () => {
    const dir = tasksDir({
      'typed.ts': `import { defineTask } from ${JSON.stringify(DEFINE_TASK_URL)};
        interface Params { url: string }
        export default defineTask({ name: 'typed', retention: '3d', run(p: Params) { return p.url.length; } });\n`,
    });
    const reg = await loadRegistry({ tasksDir: dir, logger: silent });
    expect(reg.problems).toEqual([]);
    expect(reg.types.get('typed')).toMatchObject({ name: 'typed', retentionMs: 3 * 24 * 60 * MINUTE, file: realpathSync(join(dir, 'typed.ts')) });
  });

  it('loads a .ts module inside a "type": "module" package', async () => {
    const dir = tasksDir({
      'package.json': '{ "type": "module" }',
      'esm.ts': `const n: number = 2;\nexport default { name: 'esm-ts', maxTries: n, run(): number { return n; } };\n`,
    });
    const reg = await loadRegistry({ tasksDir: dir, logger: silent });
    expect(reg.problems).toEqual([]);
    expect(reg.types.get('esm-ts')?.maxTries).toBe(2);
  });

  it('B1: reports each broken module (throws on import, bad syntax, bad definition) with its file name while the others load', async () => {
    const dir = tasksDir({
      'a-good.mjs': mjs('good'),
      'b-throws.mjs': `throw new Error('boom at import');\n`,
      'c-syntax.js': `export default {{{;\n`,
      'd-bad-name.mjs': mjs('Bad Name'),
      'e-bad-timeout.mjs': mjs('bad-timeout', ` timeout: '30d',`),
      'f-no-run.mjs': `export default { name: 'no-run' };\n`,
      'g-no-default.mjs': `export const name = 'x';\n`,
      'h-typo.mjs': mjs('typo', ' maxtries: 5,'),
      'i-bad-schema.mjs': mjs('bad-schema', ` params: { type: 'nope' },`),
      'j-dup.mjs': mjs('good'),
      'k-ok.ts': `export default { name: 'also-good', run() {} };\n`,
    });
    const { logger, lines } = collectingLogger();
    const reg = await loadRegistry({ tasksDir: dir, logger });
    expect([...reg.types.keys()].sort()).toEqual(['also-good', 'good']);
    expect(reg.types.get('good')!.file).toBe(realpathSync(join(dir, 'a-good.mjs')));
    const byFile = Object.fromEntries(reg.problems.map((p) => [p.file, p.code]));
    expect(byFile).toEqual({
      [join(dir, 'b-throws.mjs')]: 'HANDLER_LOAD_FAILED',
      [join(dir, 'c-syntax.js')]: 'HANDLER_LOAD_FAILED',
      [join(dir, 'd-bad-name.mjs')]: 'INVALID_ARGUMENT',
      [join(dir, 'e-bad-timeout.mjs')]: 'INVALID_ARGUMENT',
      [join(dir, 'f-no-run.mjs')]: 'INVALID_ARGUMENT',
      [join(dir, 'g-no-default.mjs')]: 'INVALID_ARGUMENT',
      [join(dir, 'h-typo.mjs')]: 'INVALID_ARGUMENT',
      [join(dir, 'i-bad-schema.mjs')]: 'INVALID_ARGUMENT',
      [join(dir, 'j-dup.mjs')]: 'INVALID_ARGUMENT',
    });
    const loggedFiles = lines.filter((l) => l.level === 50).map((l) => l.file);
    expect(loggedFiles.sort()).toEqual(Object.keys(byFile).sort());
  });

  it('loads sources given in code after the folder: a module file, and a definition found among its module\'s exports by name', async () => {
    const folder = tasksDir({ 'a.mjs': mjs('in-folder', ' module: import.meta.url,') });
    const code = tasksDir({
      'file.mjs': mjs('from-file'),
      'many.mjs': `export const one = { name: 'one', run() { return 1; } };\nexport const two = { name: 'two', run() { return 2; } };\n`,
    });
    const many = join(code, 'many.mjs');
    const two = { name: 'two', maxTries: 7, run: () => 2 };
    const reg = await loadRegistry({
      tasksDir: folder,
      sources: [{ kind: 'path', path: join(code, 'file.mjs'), field: 'tasks[0]' }, { kind: 'definition', definition: two, module: many, field: 'tasks[1]' }],
      logger: silent,
    });
    expect(reg.problems).toEqual([]);
    expect([...reg.types.keys()]).toEqual(['in-folder', 'from-file', 'two']);
    // The definition given in code is the one resolved (its options), run from its module.
    expect(reg.types.get('two')).toMatchObject({ file: realpathSync(many), maxTries: 7 });
    expect(reg.types.get('in-folder')!.file).toBe(realpathSync(join(folder, 'a.mjs')));
  });

  it('throws for a source given in code what a folder would log and skip', async () => {
    const code = tasksDir({ 'broken.mjs': `throw new Error('boom');\n`, 'bad.mjs': mjs('bad', ' maxTries: 0,'), 'one.mjs': `export const one = { name: 'one', run() {} };\n` });
    const load = (source: readonly TaskSource[]) => loadRegistry({ sources: source, logger: silent });
    await expect(load([{ kind: 'path', path: join(code, 'broken.mjs'), field: 'tasks[0]' }])).rejects.toMatchObject({ code: 'HANDLER_LOAD_FAILED', details: { field: 'tasks[0]' } });
    await expect(load([{ kind: 'path', path: join(code, 'bad.mjs'), field: 'tasks[0]' }])).rejects.toMatchObject({ code: 'INVALID_OPTION', details: { field: 'tasks[0].maxTries' } });
    await expect(load([{ kind: 'path', path: join(code, 'missing.mjs'), field: 'tasks[0]' }])).rejects.toMatchObject({ code: 'INVALID_OPTION', details: { field: 'tasks[0]' } });
    await expect(load([{ kind: 'definition', definition: { name: 'two', run() {} }, module: join(code, 'one.mjs'), field: 'tasks[3]' }]))
      .rejects.toMatchObject({ code: 'INVALID_OPTION', details: { field: 'tasks[3].module' }, message: expect.stringContaining('exports no task definition named "two"') });
  });

  it('X2: refuses a symlink to a module outside the tasks dir without ever importing it', async () => {
    const outside = tempDir('spindle-outside-');
    const marker = join(outside, 'imported.marker');
    const sentinel = join(outside, 'sentinel.mjs');
    writeFileSync(sentinel, `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport default { name: 'sentinel', run() {} };\n`);
    const dir = tasksDir({ 'ok.mjs': mjs('ok') });
    symlinkSync(sentinel, join(dir, 'evil.mjs'));
    symlinkSync(join('..', basename(outside), 'sentinel.mjs'), join(dir, 'relative.mjs'));

    const reg = await loadRegistry({ tasksDir: dir, logger: silent });
    expect([...reg.types.keys()]).toEqual(['ok']);
    expect(reg.problems.map((p) => [p.file, p.code])).toEqual([
      [join(dir, 'evil.mjs'), 'TASKS_DIR_INVALID'],
      [join(dir, 'relative.mjs'), 'TASKS_DIR_INVALID'],
    ]);
    expect(existsSync(marker)).toBe(false);
  });

  it('follows a symlink that stays inside the tasks dir and records the real path', async () => {
    const dir = tasksDir({});
    mkdirSync(join(dir, 'lib'));
    writeFileSync(join(dir, 'lib', 'impl.mjs'), mjs('linked'));
    symlinkSync(join(dir, 'lib', 'impl.mjs'), join(dir, 'linked.mjs'));
    const reg = await loadRegistry({ tasksDir: dir, logger: silent });
    expect(reg.problems).toEqual([]);
    expect(reg.types.get('linked')!.file).toBe(realpathSync(join(dir, 'lib', 'impl.mjs')));
  });

  it('reports a dangling symlink and a directory named like a module', async () => {
    const dir = tasksDir({ 'ok.mjs': mjs('ok') });
    symlinkSync(join(dir, 'missing.mjs'), join(dir, 'dangling.mjs'));
    mkdirSync(join(dir, 'folder.js'));
    const reg = await loadRegistry({ tasksDir: dir, logger: silent });
    expect([...reg.types.keys()]).toEqual(['ok']);
    expect(reg.problems.map((p) => [p.file, p.code])).toEqual([
      [join(dir, 'dangling.mjs'), 'HANDLER_LOAD_FAILED'],
      [join(dir, 'folder.js'), 'HANDLER_LOAD_FAILED'],
    ]);
  });

  it('skips dotfiles, .d.ts files, other extensions and subdirectories without importing them', async () => {
    const marker = join(tempDir('spindle-marker-'), 'imported.marker');
    const sentinel = `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport default { name: 'sentinel', run() {} };\n`;
    const dir = tasksDir({
      'ok.mjs': mjs('ok'),
      '.hidden.mjs': sentinel,
      'types.d.ts': 'this is not javascript',
      'notes.txt': 'hello',
      'legacy.cjs': sentinel,
      'sentinel.mts': sentinel,
    });
    mkdirSync(join(dir, 'nested'));
    writeFileSync(join(dir, 'nested', 'inner.mjs'), sentinel);
    const reg = await loadRegistry({ tasksDir: dir, logger: silent });
    expect([...reg.types.keys()]).toEqual(['ok']);
    expect(reg.problems).toEqual([]);
    expect(existsSync(marker)).toBe(false);
  });

  it('warns once for each entry it skips, naming it and why; dotfiles and package.json are skipped quietly', async () => {
    const dir = tasksDir({
      'ok.mjs': mjs('ok'),
      '.gitkeep': '',
      'package.json': '{ "type": "module" }',
      'types.d.ts': 'export {};',
      'notes.txt': 'hello',
      'legacy.cjs': 'module.exports = {};',
      'module.mts': 'export default {};',
    });
    mkdirSync(join(dir, 'nested'));
    const { logger, lines } = collectingLogger();
    const reg = await loadRegistry({ tasksDir: dir, logger });
    expect([...reg.types.keys()]).toEqual(['ok']);
    expect(reg.problems).toEqual([]);
    const warned = lines.filter((l) => l.level === 40);
    expect(warned.map((l) => l.file)).toEqual(['legacy.cjs', 'module.mts', 'nested', 'notes.txt', 'types.d.ts'].map((n) => join(dir, n)));
    for (const line of warned) {
      expect(line.reason).toBeTypeOf('string');
      expect(line.msg).toContain(line.file as string);
      expect(line.msg).toContain(line.reason as string);
    }
    const reasonOf = (name: string): string => warned.find((l) => l.file === join(dir, name))!.reason as string;
    expect(reasonOf('legacy.cjs')).toContain('.mjs');
    expect(reasonOf('nested')).toContain('subfolder');
    expect(reasonOf('types.d.ts')).toContain('declaration');
  });

  it('warns that a tasks folder without modules has no types, and still answers an empty registry', async () => {
    const dir = tasksDir({ '.gitkeep': '', 'README.md': '# tasks' });
    const { logger, lines } = collectingLogger();
    const reg = await loadRegistry({ tasksDir: dir, logger });
    expect(reg.types.size).toBe(0);
    expect(reg.problems).toEqual([]);
    expect(lines.filter((l) => l.level === 40).map((l) => [l.file, l.tasksDir])).toEqual([[join(dir, 'README.md'), undefined], [undefined, dir]]);
  });

  it('does not call a folder whose modules all failed empty: each failure is its own error line', async () => {
    const dir = tasksDir({ 'broken.mjs': `throw new Error('boom');\n` });
    const { logger, lines } = collectingLogger();
    await loadRegistry({ tasksDir: dir, logger });
    expect(lines.map((l) => [l.level, l.file])).toEqual([[50, join(dir, 'broken.mjs')]]);
  });

  it('logs nothing at warn or above for a folder of good modules', async () => {
    const { logger, lines } = collectingLogger();
    await loadRegistry({ tasksDir: tasksDir({ 'a.mjs': mjs('a'), 'b.js': mjs('b') }), logger });
    expect(lines).toEqual([]);
  });

  it('loads through a tasks dir that is itself a symlink', async () => {
    const real = tasksDir({ 'ok.mjs': mjs('ok') });
    const link = join(tempDir('spindle-link-'), 'tasks');
    symlinkSync(real, link);
    const reg = await loadRegistry({ tasksDir: link, logger: silent });
    expect(reg.problems).toEqual([]);
    expect(reg.types.get('ok')!.file).toBe(realpathSync(join(real, 'ok.mjs')));
  });

  it('fails with TASKS_DIR_INVALID and the path when the dir is missing or not a dir', async () => {
    const missing = join(tempDir(), 'nope');
    const file = join(tempDir(), 'file');
    writeFileSync(file, '');
    for (const path of [missing, file]) {
      const err = await loadRegistry({ tasksDir: path, logger: silent }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(SpindleError);
      expect((err as SpindleError).code).toBe('TASKS_DIR_INVALID');
      expect((err as SpindleError).details.path).toBe(path);
    }
  });

  it('keeps a frozen copy of the params schema that the module cannot change later', async () => {
    const dir = tasksDir({
      'mutable.mjs': `export const schema = { type: 'object', required: ['a'] };
        export default { name: 'mutable', params: schema, run() {} };\n`,
    });
    const reg = await loadRegistry({ tasksDir: dir, logger: silent });
    const mod = (await import(pathToFileURL(join(dir, 'mutable.mjs')).href)) as { schema: { required: string[] } };
    mod.schema.required.length = 0;
    const t = reg.types.get('mutable')!;
    expect(t.paramsSchema).toEqual({ type: 'object', required: ['a'] });
    expect(Object.isFrozen((t.paramsSchema as { required: string[] }).required)).toBe(true);
    expect(errorOf(() => t.validateParams({})).details.paths).toEqual(['/a']);
  });

  it('lets two registries load schemas with the same $id', async () => {
    const dir = tasksDir({ 'id.mjs': mjs('with-id', ` params: { $id: 'urn:spindle:test', type: 'object' },`) });
    for (let i = 0; i < 2; i++) {
      const reg = await loadRegistry({ tasksDir: dir, logger: silent });
      expect(reg.problems).toEqual([]);
    }
  });

  it('logs schema keywords Ajv ignores as a warning naming the file', async () => {
    const dir = tasksDir({ 'fmt.mjs': mjs('fmt', ` params: { type: 'string', format: 'colour-name', 'x-ui': 'wide' },`) });
    const { logger, lines } = collectingLogger();
    const reg = await loadRegistry({ tasksDir: dir, logger });
    expect(reg.problems).toEqual([]);
    expect(reg.types.has('fmt')).toBe(true);
    expect(lines.some((l) => l.level === 40 && l.file === realpathSync(join(dir, 'fmt.mjs')))).toBe(true);
  });
});

describe('B2: TaskType.validateParams', () => {
  let reg: Registry;

  beforeAll(async () => {
    const dir = tasksDir({
      'strict.mjs': mjs('strict', ` params: {
        type: 'object',
        properties: {
          url: { type: 'string' },
          n: { type: 'integer' },
          'a/b': { type: 'string' },
          nested: { type: 'object', properties: { x: { type: 'number' } }, required: ['x'] },
        },
        required: ['url'],
        additionalProperties: false,
      },`),
      'loose.mjs': mjs('loose'),
    });
    reg = await loadRegistry({ tasksDir: dir, logger: silent });
    expect(reg.problems).toEqual([]);
  });

  const invalid = (params: unknown): SpindleError => {
    const err = errorOf(() => reg.types.get('strict')!.validateParams(params));
    expect(err.code).toBe('INVALID_PARAMS');
    return err;
  };

  it('accepts params that match the schema', () => {
    expect(() => reg.types.get('strict')!.validateParams({ url: 'u', n: 3, nested: { x: 1.5 } })).not.toThrow();
  });

  it('points at a missing required field', () => {
    expect(invalid({}).details.paths).toEqual(['/url']);
    expect(invalid({ url: 'u', nested: {} }).details.paths).toEqual(['/nested/x']);
  });

  it('validates absent params as {}', () => {
    expect(invalid(undefined).details.paths).toEqual(['/url']);
  });

  it('points at fields of the wrong type', () => {
    expect(invalid({ url: 1 }).details.paths).toEqual(['/url']);
    expect(invalid({ url: 'u', n: 1.5, nested: { x: 'no' } }).details.paths).toEqual(['/n', '/nested/x']);
  });

  it('answers / for a root of the wrong type', () => {
    for (const params of [null, [], 'x', 7]) expect(invalid(params).details.paths).toEqual(['/']);
  });

  it('points at extra properties when additionalProperties is false, escaping them as JSON Pointer', () => {
    expect(invalid({ url: 'u', extra: 1 }).details.paths).toEqual(['/extra']);
    expect(invalid({ url: 'u', 'x/y~z': 1 }).details.paths).toEqual(['/x~1y~0z']);
  });

  it('reports every failing path at once', () => {
    expect(invalid({ url: 2, n: 'x', extra: true }).details.paths).toEqual(expect.arrayContaining(['/url', '/n', '/extra']));
  });

  it('caps the number of reported paths', () => {
    const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i]));
    expect(invalid({ url: 'u', ...many }).details.paths).toHaveLength(100);
  });

  it('treats a __proto__ key as data: refused as an extra property, nothing polluted', () => {
    const params: unknown = JSON.parse('{ "url": "u", "__proto__": { "polluted": true } }');
    expect(invalid(params).details.paths).toEqual(['/__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('accepts any value when the type has no schema', () => {
    const loose = reg.types.get('loose')!;
    for (const params of [undefined, null, 1, 'x', [1], { any: { thing: true } }]) expect(() => loose.validateParams(params)).not.toThrow();
  });
});

describe('lookupType', () => {
  let reg: Registry;

  beforeAll(async () => {
    reg = await loadRegistry({ tasksDir: tasksDir({ 'one.mjs': mjs('one'), 'two.mjs': mjs('two') }), logger: silent });
  });

  it('finds a loaded type by name', () => {
    expect(lookupType(reg, 'one').name).toBe('one');
  });

  it.each([
    ['an unknown name', 'three'],
    ['a relative path', '../../x'],
    ['an absolute path', '/etc/passwd'],
    ['a builtin specifier', 'node:child_process'],
    ['a file URL', 'file:///etc/passwd'],
    ['a NUL byte', 'one\0'],
    ['300 characters', 'a'.repeat(300)],
    ['an empty string', ''],
    ['an upper-case name', 'ONE'],
    ['an Object.prototype key', '__proto__'],
    ['an Object.prototype method', 'toString'],
  ])('B1, X2: refuses %s with UNKNOWN_TYPE listing the known types', (_, name) => {
    const err = errorOf(() => lookupType(reg, name));
    expect(err.code).toBe('UNKNOWN_TYPE');
    expect(err.details).toMatchObject({ field: 'type', known: ['one', 'two'] });
  });
});
