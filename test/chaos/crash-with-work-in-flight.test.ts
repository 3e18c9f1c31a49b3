import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '../../src/index.js';
import type { SubmitOptions } from '../../src/index.js';
import { ChaosRuntime, openCount, readStore, statsUntil } from '../helpers/chaos-runtime.js';
import { CHAOS_TASKS, expectClean } from '../helpers/chaos-scenario.js';
import { Checker, summaryLine } from '../helpers/checker.js';
import { parseExecLog } from '../helpers/exec-log.js';
import { isGone } from '../helpers/processes.js';
import { until } from '../helpers/runtime.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const runtimes: ChaosRuntime[] = [];
afterEach(async () => {
  for (const rt of runtimes.splice(0)) await rt.close();
  removeTempDirs();
});

const EACH = 1000;

function tasks(prefix: string, log: string, hold: boolean): SubmitOptions[] {
  return Array.from({ length: EACH }, (_, i) => ({ type: 'chaos-work', params: { cid: `${prefix}${i}`, log, hold } }));
}

async function submitAll(client: Client, checker: Checker, batch: SubmitOptions[]): Promise<void> {
  const b = checker.begin(batch.map((t) => (t.params as { cid: string }).cid));
  checker.ok(b, (await client.submitMany(batch)).map((t) => t.id));
}

/** Held handlers that have begun (their start line is written). */
function heldStarts(log: string): number {
  return readFileSync(log, 'utf8').split('\n').filter((l) => !l.startsWith('f') && l.endsWith(' start')).length;
}

describe.each(['processes', 'threads'] as const)('C1: kill -9 with 1,000 running, 1,000 queued and 1,000 finished (%s mode)', (mode) => {
  it('ends all 3,000 terminal: none lost, finished ones never start again, each interrupted run reruns on its next try, no orphan process', async () => {
    const data = tempDir('spindle-chaos-');
    const log = join(tempDir('spindle-chaos-log-'), 'exec.log');
    // 4 workers × 250 runs each: exactly 1,000 slots, so the second thousand waits queued.
    const rt = new ChaosRuntime({ data, tasks: CHAOS_TASKS, mode, workers: 4, runsPerWorker: 250, log });
    runtimes.push(rt);
    await rt.start({ SPINDLE_CHAOS_HOLD: '1' });
    const client = await Client.connect({ data, reconnectWindowMs: 120_000 });
    const checker = new Checker();
    await submitAll(client, checker, tasks('f', log, false));
    await statsUntil(client, (s) => s.states.finished === EACH);
    await submitAll(client, checker, tasks('h', log, true));
    await submitAll(client, checker, tasks('q', log, true));
    await statsUntil(client, (s) => s.states.running === EACH && s.states.queued === EACH && s.states.finished === EACH);
    // Running is written before the handler starts: wait until every held handler has begun.
    await until(() => heldStarts(log) >= EACH, { ms: 120_000, what: `all ${EACH} held handlers to start` });
    const workers = rt.markedPids().filter((pid) => pid !== rt.pid);
    if (mode === 'processes') expect(workers).toHaveLength(4);

    const { aftermath } = await rt.kill();
    const restartAt = Date.now();
    await rt.start();
    const restartMs = Date.now() - restartAt;
    // Its workers (processes mode) kill themselves once their runtime is gone.
    const { goneMs: allGoneMs, orphans } = await aftermath;
    expect(orphans).toEqual([]);
    expect(workers.filter((pid) => !isGone(pid))).toEqual([]);
    await statsUntil(client, (s) => openCount(s) === 0);
    await client.close();
    await rt.stop();

    await rt.start();
    const reader = await Client.connect({ data });
    const store = await readStore(reader);
    await reader.close();
    await rt.stop();
    expect(rt.markedPids()).toEqual([]);

    const text = readFileSync(log, 'utf8');
    const v = checker.check(store, text, ['finished', 'failed']);
    expectClean(v, null);
    expect(store).toHaveLength(3 * EACH);
    const parsed = parseExecLog(text);
    const byCid = new Map(store.map((t) => [String((t.params as { cid: string }).cid), t]));
    let interrupted = 0;
    let rerun = 0;
    let endedLost = 0;
    for (const [cid, task] of byCid) {
      const runs = parsed.byCid.get(cid) ?? [];
      if (task.state === 'failed') {
        expect(task.reason, cid).toBe('lost');
        endedLost++;
      } else expect(task.state, cid).toBe('finished');
      if (cid.startsWith('f')) {
        // Finished before the kill: never started again.
        expect(runs.map((r) => r.attempt), cid).toEqual([1]);
        continue;
      }
      if (runs[0]?.killedAt !== null && runs[0] !== undefined) {
        interrupted++;
        if (task.state === 'finished') {
          expect(runs.map((r) => r.attempt), cid).toEqual([1, 2]);
          expect(task.tries, cid).toBe(2);
          rerun++;
        }
      } else {
        expect(runs.map((r) => r.attempt), cid).toEqual([1]);
        expect(task.tries, cid).toBe(1);
      }
    }
    expect(interrupted).toBe(EACH);
    expect(rerun + endedLost).toBe(EACH);
    console.log(summaryLine(`C1 ${mode}`, null, v, { running: interrupted, rerunOnNextTry: rerun, endedLost, allGoneMs, restartMs }));
  });
});
