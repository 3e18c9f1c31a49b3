import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskView } from '../../src/index.js';
import { type Background, spindleJson, startRuntime } from '../helpers/cli.js';
import { groupMembers } from '../helpers/process-groups.js';
import { removeTempDirs, tempDir, until } from '../helpers/runtime.js';

const FAULTS = fileURLToPath(new URL('../fixtures/worker-faults', import.meta.url));
/** A child notices its runtime is gone within its watchdog's poll (200 ms); this bounds a loaded machine. */
const GONE_WITHIN_MS = 30_000;

const started: Background[] = [];
const groups: number[] = [];

afterEach(async () => {
  for (const r of started.splice(0)) {
    if (r.child.exitCode === null && r.child.signalCode === null) {
      r.child.kill('SIGKILL');
      await r.exited;
    }
  }
  // A failed test must not leave a spinning orphan loading the machine for the next ones.
  for (const pgid of groups.splice(0)) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  removeTempDirs();
});

/** Resolves with the ms it took, or rejects after `bound` ms with the pids still alive. */
async function goneWithin(pgid: number, bound: number): Promise<number> {
  const began = performance.now();
  for (;;) {
    const alive = groupMembers(pgid);
    if (alive.length === 0) return performance.now() - began;
    if (performance.now() - began > bound) throw new Error(`process group ${pgid} still has ${alive.join(', ')} ${bound} ms after the runtime was killed`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('kill -9 of the runtime in processes mode leaves no process of a busy child group (issue 14 #3)', () => {
  it.each([
    ['spins in for(;;){}', 'spin', 1],
    // Longer than the bound, so that the sleep ending on its own cannot pass the test.
    ["blocks in execSync('sleep 60')", 'exec-sleep', 3],
  ] as const)('a child whose handler %s is gone, with its whole process group', { timeout: 90_000 }, async (_what, type, members) => {
    const data = tempDir();
    const runtime = await startRuntime(data, FAULTS, ['--mode', 'processes']);
    started.push(runtime);
    const file = join(tempDir(), 'child.pid');
    await spindleJson(['submit', type, '--params', JSON.stringify({ file, seconds: 60 }), '--timeout', '1h', '--data', data]);
    const child = await until(() => existsSync(file) && Number(readFileSync(file, 'utf8')));
    groups.push(child);
    // The handler holds its event loop: for execSync, node, sh and sleep share the group.
    await until(() => groupMembers(child).length >= members);
    runtime.child.kill('SIGKILL');
    await runtime.exited;
    const tookMs = await goneWithin(child, GONE_WITHIN_MS);
    expect(groupMembers(child)).toEqual([]);
    console.log(`${type}: the child's group was gone ${Math.round(tookMs)} ms after the runtime's kill -9`);
  });

  it('the restarted runtime\'s retry never runs beside the killed attempt: attempt 1 never ends', { timeout: 90_000 }, async () => {
    const data = tempDir();
    const first = await startRuntime(data, FAULTS, ['--mode', 'processes']);
    started.push(first);
    const file = join(tempDir(), 'child.pid');
    const log = join(tempDir(), 'runs.log');
    const lines = (): string[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' ')) : []);
    const task = await spindleJson<TaskView>(['submit', 'exec-sleep', '--params', JSON.stringify({ file, log, seconds: 4 }), '--timeout', '1h', '--data', data]);
    await until(() => lines().includes('start 1'));
    groups.push(Number(readFileSync(file, 'utf8')));
    first.child.kill('SIGKILL');
    await first.exited;
    const second = await startRuntime(data, FAULTS, ['--mode', 'processes']);
    started.push(second);
    // Attempt 2 sleeps as long as attempt 1 did and started later: an orphaned attempt 1 would
    // have written its end before attempt 2 writes its own.
    const done = await until(async () => {
      const view = await spindleJson<TaskView>(['show', task.id, '--data', data]);
      return view.state === 'finished' && view;
    });
    expect(done).toMatchObject({ state: 'finished', tries: 2 });
    expect(lines()).toEqual(['start 1', 'start 2', 'end 2']);
  });
});
