import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

afterEach(removeTempDirs);

describe('the package', () => {
  it('imports by name from another folder through a node_modules symlink, and runs a task', () => {
    const app = tempDir();
    mkdirSync(join(app, 'node_modules'));
    symlinkSync(ROOT, join(app, 'node_modules', 'spindle'), 'dir');
    mkdirSync(join(app, 'tasks'));
    writeFileSync(join(app, 'tasks', 'hi.mjs'), `import { defineTask } from 'spindle';
export default defineTask({ name: 'hi', async run(p) { return { hi: p.who }; } });
`);
    writeFileSync(join(app, 'main.mjs'), `import { Runtime } from 'spindle';
const rt = await Runtime.start({ data: '.data', tasks: 'tasks', workers: 1, logLevel: 'silent' });
const t = await rt.submit({ type: 'hi', params: { who: 'there' } });
const done = await new Promise((resolve) => {
  const check = () => rt.get(t.id).then((v) => { if (v.state === 'finished') resolve(v); });
  rt.subscribe({ taskId: t.id }, check);
  check();
});
console.log(JSON.stringify(done.lastRun.output));
await rt.stop();
`);
    const out = execFileSync(process.execPath, ['main.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
    expect(JSON.parse(out.trim())).toEqual({ hi: 'there' });
  });
});
