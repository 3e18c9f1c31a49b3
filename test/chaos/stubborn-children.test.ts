import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
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

/** A round's timeout; doubled (to MAX_TIMEOUT_MS at most) after a round whose child was killed before its handler got going. */
const FIRST_TIMEOUT_MS = 300;
const MAX_TIMEOUT_MS = 2_400;
/**
 * Rounds whose child was killed before it wrote its pids (a fresh child loading the task and
 * forking `sh` outlasted the timeout and the graces on a loaded machine): their group must be gone
 * all the same, but they do not count among the ROUNDS of stubborn children; this many at most.
 */
const MAX_EARLY_KILLS = 10;
/** How long a round waits for its child's pids or its end: far more than either takes. */
const ROUND_WAIT_MS = 60_000;

describe('W5: children that ignore SIGTERM, spawn `sleep 300` and spin, killed 100 times over', () => {
  it('sends SIGTERM then SIGKILL to each process group: nothing of a group is alive 5 s after its kill, the process count stays flat', async () => {
    executor = new ProcessExecutor({ workers: 2, killGraceMs: 200, termGraceMs: 300, logLevel: 'silent' });
    await executor.start();
    const ex = executor;
    expect(workersOf(process.pid)).toHaveLength(2);
    const dir = tempDir();
    let slowestMs = 0;
    let slowestPidsMs = 0;
    let timeoutMs = FIRST_TIMEOUT_MS;
    let earlyKills = 0;
    for (let round = 0, stubborn = 0; stubborn < ROUNDS; round++) {
      const file = join(dir, `${round}.pids`);
      let decided = 0;
      let ended: RunOutcome | null = null;
      const sentAt = performance.now();
      const outcome = new Promise<RunOutcome>((resolve) => {
        ex.run(
          { runId: `w5-${round}`, taskId: `w5-${round}`, type: 'stubborn', modulePath: STUBBORN, params: { file, sleep: SLEEP }, attempt: 1, timeoutMs },
          { onProgress: () => undefined, onOutcome: (o) => { decided = performance.now(); ended = o; resolve(o); }, onReleased: () => undefined },
        );
      });
      const pidsIn = (): string | undefined => {
        const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
        return text.includes(' ') ? text : undefined;
      };
      await until(() => ended !== null, { ms: ROUND_WAIT_MS, what: `round ${round}: the run's end (timeout ${timeoutMs} ms)` });
      expect(await outcome).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
      const child = childOf(await outcome);
      await until(() => groupMembers(child).length === 0 || performance.now() - decided > GROUP_GONE_MS);
      const tookMs = performance.now() - decided;
      // The pids are written once the handler has forked its sleeper: before the timeout, or during the graces.
      const pids = pidsIn();
      const sleeper = pids === undefined ? null : Number(pids.split(' ')[1]);
      expect(groupMembers(child), `round ${round}: child ${child}, sleeper ${sleeper}`).toEqual([]);
      expect(tookMs).toBeLessThan(GROUP_GONE_MS);
      slowestMs = Math.max(slowestMs, tookMs);
      if (pids === undefined) {
        // Killed before its handler got going: its group is gone, but it was no stubborn child.
        earlyKills++;
        expect(earlyKills, `${earlyKills} children killed before they wrote their pids, the last with a ${timeoutMs} ms timeout`).toBeLessThanOrEqual(MAX_EARLY_KILLS);
        timeoutMs = Math.min(MAX_TIMEOUT_MS, timeoutMs * 2);
        continue;
      }
      expect(Number(pids.split(' ')[0])).toBe(child);
      slowestPidsMs = Math.max(slowestPidsMs, statSync(file).mtimeMs - (performance.timeOrigin + sentAt));
      stubborn++;
    }
    expect(sleepers()).toEqual([]);
    await until(() => ex.busy() === 0 && workersOf(process.pid).length === 2, { ms: 60_000, what: 'the pool back to 2 idle children' });
    expect(workersOf(process.pid)).toHaveLength(2);
    console.log(`W5: ${ROUNDS} stubborn groups killed; the slowest was gone ${Math.round(slowestMs)} ms after its TIMEOUT (kill grace 200 ms + term grace 300 ms); `
      + `the slowest child wrote its pids ${Math.round(slowestPidsMs)} ms after its run was handed over (a fresh child starting included); ${earlyKills} killed before they did (timeout ${FIRST_TIMEOUT_MS} ms, ${timeoutMs} ms at the end)`);
  });
});

/** The pid of the child a run's outcome names (`process-<pid>`): it leads its process group. */
function childOf(outcome: RunOutcome): number {
  const pid = Number(/^process-(\d+)$/.exec(outcome.worker ?? '')?.[1]);
  if (!Number.isSafeInteger(pid)) throw new Error(`the outcome names no child process: ${JSON.stringify(outcome.worker)}`);
  return pid;
}
