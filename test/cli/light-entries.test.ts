import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Background, CLI, startRuntime } from '../helpers/cli.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir } from '../helpers/runtime.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PROBE = fileURLToPath(new URL('../fixtures/load-probe/probe.mjs', import.meta.url));

/** The runtime's own modules: the composition root, the supervisor, the store, the executors, the IPC server. */
const RUNTIME_MODULES = /\/dist\/src\/(runtime|store|executor)\/|\/dist\/src\/supervisor\/supervisor\.js$|\/dist\/src\/ipc\/server\.js$|\/dist\/src\/task\/registry\.js$/;

interface Loaded {
  packages: string[];
  ownModules: string[];
  addons: string[];
}

/** Runs node with the load probe on `args` (in `cwd`) and answers what the process loaded. */
function loadedBy(args: readonly string[], cwd: string): Loaded {
  const out = join(tempDir(), 'loaded.jsonl');
  writeFileSync(out, '');
  execFileSync(process.execPath, ['--import', PROBE, ...args], { cwd, env: { ...process.env, LOAD_PROBE_OUT: out }, stdio: 'pipe', timeout: 60_000 });
  const records = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { url?: string; cjs?: string; addon?: string });
  const files = records.map((r) => r.url?.replace(/^file:\/\//, '') ?? r.cjs ?? r.addon ?? '').filter((f) => f.startsWith('/'));
  return {
    packages: [...new Set(files.flatMap((f) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1] ?? []))].sort(),
    ownModules: files.filter((f) => f.startsWith(ROOT) && !f.includes('/node_modules/')),
    addons: records.flatMap((r) => r.addon ?? []),
  };
}

let app: string;

beforeAll(() => {
  // An application with spindle installed (a symlink, as `npm link` makes), importing it by name.
  app = tempDir();
  mkdirSync(join(app, 'node_modules'));
  symlinkSync(ROOT, join(app, 'node_modules', 'spindle'), 'dir');
  writeFileSync(join(app, 'client.mjs'), `import { Client } from 'spindle/client';\nif (typeof Client.connect !== 'function') throw new Error('no Client');\n`);
  writeFileSync(join(app, 'main.mjs'), `import { Runtime } from 'spindle';\nif (typeof Runtime.start !== 'function') throw new Error('no Runtime');\n`);
});

afterAll(() => removeTempDirs());

describe("import { Client } from 'spindle/client'", () => {
  it('loads no package and none of the runtime\'s modules', () => {
    const loaded = loadedBy(['client.mjs'], app);
    expect(loaded.packages).toEqual([]);
    expect(loaded.addons).toEqual([]);
    expect(loaded.ownModules.filter((m) => RUNTIME_MODULES.test(m))).toEqual([]);
    expect(loaded.ownModules.some((m) => m.endsWith('/dist/src/client/client.js'))).toBe(true);
  });

  it('where the main entry loads the runtime (the probe sees what it is looking for)', () => {
    const loaded = loadedBy(['main.mjs'], app);
    expect(loaded.packages).toEqual(expect.arrayContaining(['classic-level', 'piscina', 'xstate', 'pino']));
    expect(loaded.addons.some((a) => a.includes('classic-level'))).toBe(true);
  });
});

describe('the CLI\'s client commands', () => {
  let data: string;
  let runtime: Background;

  beforeAll(async () => {
    data = tempDir();
    runtime = await startRuntime(data, FIXTURE_TASKS);
  });

  afterAll(async () => {
    if (runtime.child.exitCode === null) {
      runtime.child.kill('SIGTERM');
      await runtime.exited;
    }
  });

  it('load commander and the client only: `spindle --version`, `spindle stats`, `spindle submit`', () => {
    for (const args of [['--version'], ['stats', '--data', data], ['submit', 'echo', '--in', '1h', '--data', data]]) {
      const loaded = loadedBy([CLI, ...args], ROOT);
      expect(loaded.packages, args.join(' ')).toEqual(['commander']);
      expect(loaded.addons, args.join(' ')).toEqual([]);
      expect(loaded.ownModules.filter((m) => RUNTIME_MODULES.test(m)), args.join(' ')).toEqual([]);
    }
  });
});
