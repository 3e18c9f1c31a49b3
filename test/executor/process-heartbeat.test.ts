import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunOutcome } from '../../src/executor/executor.js';
import { ProcessExecutor } from '../../src/executor/process-executor.js';
import { isGone } from '../helpers/processes.js';
import { until } from '../helpers/runtime.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { pidIn } from './executor-harness.js';

/** Writes its pid to params.file, then spins without yielding: only a thread or a signal ends it. */
const SPIN = fileURLToPath(new URL('../fixtures/worker-faults/spin.mjs', import.meta.url));
const ECHO = fileURLToPath(new URL('../fixtures/tasks/echo.mjs', import.meta.url));
const STALE_MS = 1000;

let executor: ProcessExecutor | null = null;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await executor?.close(0);
  executor = null;
  removeTempDirs();
});

/** Plays the runtime's main thread: beats into `path` every 100 ms until stopped. */
function beater(path: string): { start(): void; stop(): void } {
  const fd = openSync(path, 'w');
  const buf = Buffer.alloc(8);
  const beat = (): void => {
    buf.writeBigInt64LE(process.hrtime.bigint() / 1_000_000n, 0);
    writeSync(fd, buf, 0, 8, 0);
  };
  let timer: NodeJS.Timeout | null = null;
  const stop = (): void => {
    if (timer !== null) clearInterval(timer);
    timer = null;
  };
  cleanups.push(() => {
    stop();
    closeSync(fd);
  });
  return {
    start: () => {
      beat();
      timer ??= setInterval(beat, 100);
    },
    stop,
  };
}

function run(ex: ProcessExecutor, runId: string, modulePath: string, params: unknown): Promise<RunOutcome> {
  return new Promise((resolve) => ex.run(
    { runId, taskId: runId, type: 'fixture', modulePath, params, attempt: 1, timeoutMs: 60_000 },
    { onProgress: () => undefined, onOutcome: resolve, onReleased: () => undefined },
  ));
}

describe('ProcessExecutor with a heartbeat (a runtime with leases)', () => {
  it('a child whose runtime stops beating kills its process group, its busy handler included; its run is lost; beating again, children run', { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const path = join(dir, 'heartbeat');
    const beats = beater(path);
    beats.start();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } }));
    executor = new ProcessExecutor({ workers: 1, killGraceMs: 500, termGraceMs: 500, logLevel: 'info', logger, heartbeat: { path, staleMs: STALE_MS } });
    await executor.start();
    const file = join(dir, 'pid');
    const outcome = run(executor, 'spin', SPIN, { file });
    const pid = await pidIn(file);
    // While the beats go on, twice the bound passes and the spinning handler is left alone.
    await sleep(2 * STALE_MS);
    expect(isGone(pid)).toBe(false);
    beats.stop();
    const ended = await outcome;
    expect(ended.ok).toBe(false);
    if (!ended.ok) expect([ended.error.code, ended.error.signal]).toEqual(['WORKER_CRASHED', 'SIGKILL']);
    expect(isGone(pid)).toBe(true);
    await until(() => lines.some((l) => l.includes(`spindle: FENCED: the runtime (pid ${process.pid}) has not beaten for`)));
    beats.start();
    // Replacements forked while the beat was stale kill themselves too; once it is fresh one stays and runs.
    const echoed = await run(executor, 'echo', ECHO, { hello: 1 });
    expect(echoed.ok).toBe(true);
  });
});
