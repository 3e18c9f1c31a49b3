import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskView } from '../../src/index.js';
import { type Background, spindleJson, startRuntime } from '../helpers/cli.js';
import { removeTempDirs, tempDir, until } from '../helpers/runtime.js';

const FAULTS = fileURLToPath(new URL('../fixtures/worker-faults', import.meta.url));
const TERMINAL = ['finished', 'failed', 'terminated'];

const started: Background[] = [];

afterEach(async () => {
  for (const r of started.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) {
      r.child.kill('SIGCONT');
      r.child.kill('SIGKILL');
      await r.exited;
    }
  }
  removeTempDirs();
});

describe('a stalled runtime does not judge a run that finished in time as timed out (issue 14 #8)', () => {
  // Processes mode: the child ends its run while the runtime is stopped. Threads mode: the handler
  // is stopped with the runtime; on SIGCONT its thread gets the stall grace to deliver its result.
  it.each(['processes', 'threads'])('%s mode: a 1 s run with a 3 s timeout, the runtime SIGSTOPped for 5.5 s meanwhile, ends finished after one run', { timeout: 90_000 }, async (mode) => {
    const data = tempDir();
    const runtime = await startRuntime(data, FAULTS, ['--mode', mode]);
    started.push(runtime);
    const log = join(tempDir(), 'runs.log');
    const task = await spindleJson<TaskView>(['submit', 'mark-sleep', '--params', JSON.stringify({ file: log, ms: 1_000 }), '--timeout', '3s', '--data', data]);
    await until(() => existsSync(log) && readFileSync(log, 'utf8').includes('start'));
    // The stall is the fault injected: the runtime's 3 s timer has long expired when it resumes.
    runtime.child.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    runtime.child.kill('SIGCONT');
    const done = await until(async () => {
      const view = await spindleJson<TaskView>(['show', task.id, '--data', data]);
      return TERMINAL.includes(view.state) && view;
    });
    expect(done).toMatchObject({ state: 'finished', runCount: 1, tries: 1 });
    const runs = await spindleJson<Array<{ state: string; error: unknown }>>(['runs', task.id, '--data', data]);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ state: 'finished', error: null });
    expect(readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ')[0])).toEqual(['start', 'end']);
  });
});
