import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { Logger } from 'pino';
import type { Clock } from '../../src/clock.js';
import { systemClock } from '../../src/clock.js';
import { ThreadExecutor } from '../../src/executor/thread-executor.js';
import type { TaskSource } from '../../src/store/task-source.js';
import type { SpindleEvent } from '../../src/supervisor/events.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import type { Registry } from '../../src/task/registry.js';
import { loadRegistry } from '../../src/task/registry.js';
import type { TaskState } from '../../src/task/state.js';

/** What a source needs from the runtime that opens it. */
export interface SourceOpenOptions {
  clock: Clock;
  log: Logger;
}

/** A source opened on a place, and how to let go of what it opened there (its store, its pool). */
export interface OpenedSource {
  source: TaskSource;
  /** Called after the supervisor stopped (which closed the source). */
  close(): Promise<void>;
}

/**
 * One storage place (a LevelDB directory, a PostgreSQL database): empty when made, opened by one
 * source at a time, and opened again over the same data to see what a restart sees.
 */
export interface SourcePlace {
  open(options: SourceOpenOptions): Promise<OpenedSource>;
  /** Removes the place and its data; nothing is open on it. */
  drop(): Promise<void>;
}

export interface SourceFactory {
  /** A fresh, empty place. */
  place(): Promise<SourcePlace>;
}

/** The supervisor options a contract test may set; the rest are the runtime's ordinary ones. */
export interface HarnessOptions {
  retentionMs?: number | null;
  keyRetentionMs?: number;
  sweepIntervalMs?: number;
  /** Threads in the pool, one run each (default 2). */
  workers?: number;
}

export const CONTRACT_TASKS = fileURLToPath(new URL('../fixtures/contract-tasks', import.meta.url));
export const TERMINAL: readonly TaskState[] = ['finished', 'failed', 'terminated'];

let registry: Promise<Registry> | undefined;

/**
 * A real supervisor over a source, with a real thread pool running the modules in
 * test/fixtures/contract-tasks. Every event it emits is kept, so a test waits for one that
 * already happened as well as for one to come.
 */
export class Harness {
  readonly supervisor: Supervisor;
  readonly events: EventLog;
  readonly #opened: OpenedSource;
  #stopped = false;

  private constructor(supervisor: Supervisor, opened: OpenedSource) {
    this.supervisor = supervisor;
    this.#opened = opened;
    this.events = new EventLog(supervisor);
  }

  static async open(place: SourcePlace, options: HarnessOptions = {}): Promise<Harness> {
    const log = pino({ level: 'silent' });
    registry ??= loadRegistry({ tasksDir: CONTRACT_TASKS, logger: log });
    const opened = await place.open({ clock: systemClock, log });
    const executor = new ThreadExecutor({ workers: options.workers ?? 2, logLevel: 'silent', killGraceMs: 500 });
    await executor.start();
    const supervisor = new Supervisor({
      source: opened.source, registry: await registry, executorFor: () => executor, executors: [executor], clock: systemClock, log,
      retentionMs: options.retentionMs === undefined ? null : options.retentionMs, keyRetentionMs: options.keyRetentionMs ?? 0,
      sweepIntervalMs: options.sweepIntervalMs ?? 60_000, sweepBatch: 100, maxParamsBytes: 1 << 20, maxOutputBytes: 1 << 20,
      maxReplyBytes: 4 << 20, random: Math.random,
    });
    const h = new Harness(supervisor, opened);
    await supervisor.start();
    return h;
  }

  /** Stops the supervisor (waiting `graceMs` for runs to settle on their signal) and closes the source's place. */
  async stop(graceMs: number): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.supervisor.stop(graceMs);
    await this.#opened.close();
  }
}

/** Every event of one supervisor, from its start. */
export class EventLog {
  readonly all: SpindleEvent[] = [];
  #waiters: Array<() => boolean> = [];

  constructor(supervisor: Supervisor) {
    supervisor.subscribe({}, (ev) => {
      this.all.push(ev);
      this.#waiters = this.#waiters.filter((done) => !done());
    });
  }

  /** Resolves once `count` events the predicate accepts were emitted (counting those before the call). */
  when(accept: (ev: SpindleEvent) => boolean, count = 1): Promise<SpindleEvent[]> {
    return new Promise((resolve) => {
      const done = (): boolean => {
        const seen = this.all.filter(accept);
        if (seen.length < count) return false;
        resolve(seen);
        return true;
      };
      if (!done()) this.#waiters.push(done);
    });
  }

  /** Resolves once the task's state became `to` (for the `count`-th time). */
  async reached(id: string, to: TaskState | readonly TaskState[], count = 1): Promise<void> {
    const states: readonly TaskState[] = typeof to === 'string' ? [to] : to;
    await this.when((ev) => ev.event === 'task.state' && ev.data.id === id && states.includes(ev.data.to), count);
  }

  /** Resolves once the task is terminal. */
  ended(id: string): Promise<void> {
    return this.reached(id, TERMINAL);
  }

  /** `from>to` of every state change of the task, in order. */
  moves(id: string): string[] {
    return this.all.flatMap((ev) => (ev.event === 'task.state' && ev.data.id === id ? [`${ev.data.from}>${ev.data.to}`] : []));
  }
}

const markerDirs: string[] = [];

/** A fresh directory for a test's marker files (see the hold and stubborn fixtures). */
export function markerDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spindle-contract-'));
  markerDirs.push(dir);
  return dir;
}

export function removeMarkerDirs(): void {
  for (const d of markerDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
