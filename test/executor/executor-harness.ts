import { existsSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import type { Executor, RunError, RunOutcome } from '../../src/executor/executor.js';
import type { PoolOptions } from '../../src/executor/pool-options.js';
import { until } from '../helpers/runtime.js';
import { removeTempDirs } from '../helpers/temp.js';

// Real threads and processes on a loaded 2-core CI machine: generous limits, never tight timing.
export const TEST_TIMEOUT = 30_000;
export const SLACK_MS = 5_000;

export const task = (name: string): string => fileURLToPath(new URL(`../fixtures/tasks/${name}.mjs`, import.meta.url));

/**
 * Opens started executors of one kind with `defaults` under each test's options, and closes them
 * (and removes the temp dirs) after each test of the file or describe block that calls it.
 */
export function opener<O extends PoolOptions, E extends Executor>(create: (options: O) => E, defaults: NoInfer<O>): (options?: O) => Promise<E> {
  const opened: E[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((ex) => ex.close(0)));
    removeTempDirs();
  });
  return async (options) => {
    const ex = create({ ...defaults, ...options });
    opened.push(ex);
    await ex.start();
    return ex;
  };
}

export interface Tracked {
  runId: string;
  outcome: Promise<RunOutcome>;
  released: Promise<void>;
  progress: number[];
}

let runs = 0;

export function start(ex: Executor, modulePath: string, params: unknown = {}, options: { timeoutMs?: number; attempt?: number; startAt?: number; type?: string } = {}): Tracked {
  const runId = `run-${++runs}`;
  const progress: number[] = [];
  let onOutcome!: (outcome: RunOutcome) => void;
  let onReleased!: () => void;
  const outcome = new Promise<RunOutcome>((resolve) => (onOutcome = resolve));
  const released = new Promise<void>((resolve) => (onReleased = resolve));
  ex.run(
    { runId, taskId: `task-${runs}`, type: options.type ?? 'fixture', modulePath, params, attempt: options.attempt ?? 1, timeoutMs: options.timeoutMs ?? 20_000, ...(options.startAt === undefined ? {} : { startAt: options.startAt }) },
    { onProgress: (p) => progress.push(p), onOutcome, onReleased },
  );
  return { runId, outcome, released, progress };
}

export async function failed(tracked: Tracked): Promise<RunError & { worker: string }> {
  const outcome = await tracked.outcome;
  if (outcome.ok) throw new Error(`expected a failed run, got output ${String(outcome.output)}`);
  return { ...outcome.error, worker: outcome.worker };
}

/** The pid a fixture wrote to `file`, once it has written it. */
export const pidIn = (file: string): Promise<number> => until(() => existsSync(file) && Number(readFileSync(file, 'utf8')) > 0 && Number(readFileSync(file, 'utf8')));

/** A pino destination that keeps each JSON line it is written, parsed, in `lines`. */
export function lineSink(): { sink: Writable; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { sink, lines };
}
