import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunOutcome } from '../../src/executor/executor.js';
import { ProcessExecutor } from '../../src/executor/process-executor.js';
import { groupMembers } from '../helpers/process-groups.js';
import { workersOf } from '../helpers/processes.js';
import { until } from '../helpers/runtime.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const STUBBORN = fileURLToPath(new URL('../fixtures/worker-faults/stubborn.mjs', import.meta.url));
const ROUNDS = 100;
/** The promise: nothing of a killed child's group is alive this long after the kill is decided. */
const GROUP_GONE_MS = 5_000;

/**
 * A sleep length no other process on the machine uses: its command line tells this test's
 * grandchildren apart from everything else running here.
 */
const SLEEP = `300.${process.pid}`;

/** Live processes running this test's `sleep`, wherever they were reparented to. */
function sleepers(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (argv[0] === 'sleep' && argv[1] === SLEEP && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') found.push(Number(entry));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return found;
}

let executor: ProcessExecutor | null = null;

afterAll(async () => {
  await executor?.close(0);
  removeTempDirs();
});

describe('W5: children that ignore SIGTERM, spawn `sleep 300` and spin, killed 100 times over', () => {
  it('sends SIGTERM then SIGKILL to each process group: nothing of a group is alive 5 s after its kill, the process count stays flat', async () => {
    executor = new ProcessExecutor({ workers: 2, killGraceMs: 200, termGraceMs: 300, logLevel: 'silent' });
    await executor.start();
    const ex = executor;
    expect(workersOf(process.pid)).toHaveLength(2);
    const dir = tempDir();
    let slowestMs = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const file = join(dir, `${round}.pids`);
      let decided = 0;
      const outcome = new Promise<RunOutcome>((resolve) => {
        ex.run(
          { runId: `w5-${round}`, taskId: `w5-${round}`, type: 'stubborn', modulePath: STUBBORN, params: { file, sleep: SLEEP }, attempt: 1, timeoutMs: 300 },
          { onProgress: () => undefined, onOutcome: (o) => { decided = performance.now(); resolve(o); }, onReleased: () => undefined },
        );
      });
      const [child, sleeper] = (await until(() => existsSync(file) && readFileSync(file, 'utf8').includes(' ') && readFileSync(file, 'utf8'))).split(' ').map(Number);
      expect(await outcome).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
      await until(() => groupMembers(child!).length === 0 || performance.now() - decided > GROUP_GONE_MS);
      const tookMs = performance.now() - decided;
      expect(groupMembers(child!), `round ${round}: child ${child}, sleeper ${sleeper}`).toEqual([]);
      expect(tookMs).toBeLessThan(GROUP_GONE_MS);
      slowestMs = Math.max(slowestMs, tookMs);
    }
    expect(sleepers()).toEqual([]);
    await until(() => ex.busy() === 0 && workersOf(process.pid).length === 2);
    expect(workersOf(process.pid)).toHaveLength(2);
    console.log(`W5: ${ROUNDS} stubborn groups killed; the slowest was gone ${Math.round(slowestMs)} ms after its TIMEOUT (kill grace 200 ms + term grace 300 ms)`);
  });
});
