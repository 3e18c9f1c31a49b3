import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/index.js';
import { removeTempDirs, tempDir, until, waitForState } from '../helpers/runtime.js';

const TASKS = fileURLToPath(new URL('../fixtures/recovery-tasks', import.meta.url));
const CHILD = fileURLToPath(new URL('../fixtures/crash-child.ts', import.meta.url));

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.stop(2000);
  runtime = undefined;
  removeTempDirs();
});

interface Ids { finished: string[]; running: string[]; queued: string[]; recurring: [string, string] }

/** Starts the runtime in a child process, waits for its report, then kills it with SIGKILL. */
async function crashAfterSetup(data: string, log: string): Promise<Ids> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, data, TASKS, log], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ids = await new Promise<Ids>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as Ids);
    });
    child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  return ids;
}

function logLines(log: string): string[] {
  return readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
}

describe('crash recovery (kill -9)', () => {
  it('loses nothing acknowledged, never reruns finished tasks, and counts interrupted runs as tries', async () => {
    const data = tempDir();
    const log = join(tempDir(), 'runs.log');
    writeFileSync(log, '');
    const ids = await crashAfterSetup(data, log);
    const beforeRestart = logLines(log);

    runtime = await Runtime.start({ data, tasks: TASKS, workers: 2, logLevel: 'silent' });
    const r = runtime;
    // Every acknowledged task is there.
    for (const id of [...ids.finished, ...ids.running, ...ids.queued]) await expect(r.get(id)).resolves.toMatchObject({ id });

    // Interrupted runs were lost tries: retried as attempt 2, which finishes.
    for (const id of ids.running) {
      const done = await waitForState(r, id);
      expect(done).toMatchObject({ state: 'finished', tries: 2, runCount: 2 });
      const runs = await r.runs(id);
      expect(runs.map((x) => x.state)).toEqual(['lost', 'finished']);
    }
    // Finished tasks stayed finished and never ran again.
    for (const id of ids.finished) expect(await r.get(id)).toMatchObject({ state: 'finished', runCount: 1 });
    // Future tasks are still waiting.
    for (const id of ids.queued) expect(await r.get(id)).toMatchObject({ state: 'queued', runCount: 0 });

    const lines = logLines(log);
    for (const n of [1, 2, 3]) expect(lines.filter((l) => l.startsWith(`${n} `) && l.endsWith('start'))).toHaveLength(1);
    for (const n of [4, 5]) {
      expect(beforeRestart.filter((l) => l.startsWith(`${n} 1 `))).toEqual([expect.stringMatching(/start$/)]);
      expect(lines.filter((l) => l.startsWith(`${n} 2 `))).toHaveLength(2);
    }
    // Recurring: the finished occurrence is not run again; the interrupted one is retried once and
    // the schedule goes on from its fire time.
    const [ranOnce, midRun] = ids.recurring;
    const rec1 = await r.get(ranOnce);
    expect(rec1).toMatchObject({ state: 'queued', runCount: 1, occurrences: 1 });
    expect(Date.parse(rec1.nextRunAt!)).toBe(Date.parse((rec1.schedule as { start: string }).start) + 3_600_000);
    const rec2 = await until(async () => {
      const v = await r.get(midRun);
      return v.state === 'queued' && v.runCount === 2 ? v : undefined;
    });
    expect(rec2).toMatchObject({ occurrences: 1, tries: 0 });
    expect(Date.parse(rec2.nextRunAt!)).toBe(Date.parse((rec2.schedule as { start: string }).start) + 3_600_000);
    expect((await r.runs(midRun)).map((x) => [x.attempt, x.state])).toEqual([[1, 'lost'], [2, 'finished']]);
    expect(logLines(log).filter((l) => l.startsWith('8 ') && l.endsWith('start'))).toHaveLength(1);

    expect(r.stats().states).toMatchObject({ finished: 5, queued: 4, running: 0 });
  });
});

describe('store ownership', () => {
  it('refuses a second runtime on the same data directory with ALREADY_RUNNING', async () => {
    const data = tempDir();
    runtime = await Runtime.start({ data, tasks: TASKS, workers: 1, logLevel: 'silent' });
    await expect(Runtime.start({ data, tasks: TASKS, workers: 1, logLevel: 'silent' })).rejects.toMatchObject({ code: 'ALREADY_RUNNING' });
    // The first one is unharmed.
    const t = await runtime.submit({ type: 'record', params: { log: join(data, 'x.log'), n: 1 } });
    expect((await waitForState(runtime, t.id)).state).toBe('finished');
  });
});
