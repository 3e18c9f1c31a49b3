import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

afterAll(() => removeTempDirs());

/** A copy of the project's layout with one source file, where the script can be run for real. */
function project(): { dir: string; run: () => { built: boolean; status: number | null; stderr: string } } {
  const dir = tempDir();
  mkdirSync(join(dir, 'scripts'));
  copyFileSync(join(ROOT, 'scripts/build-if-stale.mjs'), join(dir, 'scripts/build-if-stale.mjs'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(join(ROOT, 'node_modules/typescript'), join(dir, 'node_modules/typescript'), 'dir');
  for (const sub of ['src', 'workers', 'bench']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'src/a.ts'), 'export const a: number = 1;\n');
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', outDir: 'dist', rootDir: '.' }, include: ['src', 'workers', 'bench'] }));
  return {
    dir,
    run: () => {
      const ran = spawnSync(process.execPath, [join(dir, 'scripts/build-if-stale.mjs')], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
      return { built: ran.stderr.includes('building:'), status: ran.status, stderr: ran.stderr };
    },
  };
}

describe('npm start builds only when a source changed (scripts/build-if-stale.mjs)', () => {
  it('builds when dist/ is missing, not when it is up to date, and again when a source or tsconfig.json is newer', () => {
    const { dir, run } = project();
    expect(run()).toMatchObject({ built: true, status: 0 });
    const output = join(dir, 'dist/src/a.js');
    const builtAt = statSync(output).mtimeMs;

    expect(run()).toMatchObject({ built: false, status: 0 });
    expect(statSync(output).mtimeMs).toBe(builtAt);

    // Times set explicitly, in the past: what matters is which of source and output is newer.
    const at = (secondsAgo: number): Date => new Date(Date.now() - secondsAgo * 1000);
    utimesSync(output, at(120), at(120));
    utimesSync(join(dir, 'src/a.ts'), at(60), at(60));
    expect(run()).toMatchObject({ built: true, status: 0, stderr: expect.stringContaining('src/a.ts changed') });
    expect(run()).toMatchObject({ built: false, status: 0 });

    utimesSync(join(dir, 'src/a.ts'), at(300), at(300));
    utimesSync(output, at(200), at(200));
    utimesSync(join(dir, 'tsconfig.json'), at(100), at(100));
    expect(run()).toMatchObject({ built: true, status: 0, stderr: expect.stringContaining('tsconfig.json changed') });
  });

  it('exits with tsc\'s status when the build fails', () => {
    const { dir, run } = project();
    writeFileSync(join(dir, 'src/a.ts'), 'export const a: number = "one";\n');
    const ran = run();
    expect(ran.built).toBe(true);
    expect(ran.status).not.toBe(0);
  });
});
