#!/usr/bin/env node
// `npm start` runs this instead of a full build: tsc runs only when a TypeScript source (src/,
// workers/, bench/) is newer than its output in dist/, has none, or tsconfig.json changed since
// the oldest output. Plain JavaScript, so it runs before anything is built.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SOURCE_DIRS = ['src', 'workers', 'bench'];

const mtime = (file) => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
};

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/** The first reason to build, or undefined when dist/ is up to date. */
function staleness() {
  const config = mtime(join(ROOT, 'tsconfig.json')) ?? Infinity;
  for (const dir of SOURCE_DIRS) {
    for (const source of sources(join(ROOT, dir))) {
      const output = join(ROOT, 'dist', relative(ROOT, source)).replace(/\.ts$/, '.js');
      const built = mtime(output);
      if (built === undefined) return `${relative(ROOT, output)} is missing`;
      if (built < mtime(source)) return `${relative(ROOT, source)} changed`;
      if (built < config) return 'tsconfig.json changed';
    }
  }
  return undefined;
}

const reason = staleness();
if (reason !== undefined) {
  process.stderr.write(`building: ${reason}\n`);
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json')], { stdio: 'inherit' });
  process.exit(tsc.status ?? 1);
}
