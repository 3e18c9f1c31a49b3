import { afterEach, beforeEach } from 'vitest';
import pino from 'pino';
import type { Clock } from '../../src/clock.js';
import { systemClock } from '../../src/clock.js';
import { ThreadExecutor } from '../../src/executor/thread-executor.js';
import { PgDatabase } from '../../src/store/pg-source/pg-database.js';
import { PgSource } from '../../src/store/pg-source/pg-source.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import type { SpindleEvent } from '../../src/api/events.js';
import { loadRegistry } from '../../src/task/registry.js';
import { createTestDatabase, type TestDatabase } from './pg.js';
import { FIXTURE_TASKS } from './runtime.js';

/** One runtime's parts on a PostgreSQL database: its pool, source, executor and supervisor. */
export interface PgRuntime {
  db: PgDatabase;
  source: PgSource;
  executor: ThreadExecutor;
  supervisor: Supervisor;
  /** Stops the supervisor (grace in ms) and closes the pool. */
  stop(graceMs?: number): Promise<void>;
}

export interface PgRuntimeOptions {
  leaseMs?: number;
  workers?: number;
  retentionMs?: number | null;
  /** The source's clock (timers, and a wall clock the source must not trust); the supervisor keeps the system's. */
  sourceClock?: Clock;
  /** The runtime's id in the database (default: one of its own). */
  id?: string;
}

export async function startPgRuntime(url: string, { leaseMs = 5000, workers = 2, retentionMs = null, sourceClock = systemClock, id }: PgRuntimeOptions = {}): Promise<PgRuntime> {
  const log = pino({ level: 'silent' });
  const db = await PgDatabase.open({ url, log, poolSize: 4 });
  const source = new PgSource({ db, log, leaseMs, clock: sourceClock, ...(id !== undefined ? { id } : {}) });
  const executor = new ThreadExecutor({ workers, logLevel: 'silent' });
  await executor.start();
  const supervisor = new Supervisor({
    source, registry: await loadRegistry({ tasksDir: FIXTURE_TASKS, logger: log }),
    executorFor: () => executor, executors: [executor], clock: systemClock, log, retentionMs, keyRetentionMs: 0,
    sweepIntervalMs: 200, sweepBatch: 100, maxParamsBytes: 1 << 20, maxOutputBytes: 1 << 20, maxReplyBytes: 4 << 20, random: Math.random,
  });
  await supervisor.start();
  let stopped = false;
  return {
    db, source, executor, supervisor,
    stop: async (graceMs = 1000) => {
      if (stopped) return;
      stopped = true;
      await supervisor.stop(graceMs);
      await db.close();
    },
  };
}

/** A fresh database for each test of the file, and the runtimes a test starts on it: stopped, then the database dropped, after each test. */
export function pgTestBed(): { readonly db: TestDatabase; runtimes: PgRuntime[] } {
  let db: TestDatabase | undefined;
  const bed = {
    get db(): TestDatabase {
      if (db === undefined) throw new Error('pgTestBed: the database exists only inside a test');
      return db;
    },
    runtimes: [] as PgRuntime[],
  };
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await Promise.all(bed.runtimes.map((r) => r.stop(0)));
    bed.runtimes = [];
    await db?.drop();
    db = undefined;
  });
  return bed;
}

/** One line per event, enough to compare a task's sequences of events. */
export function eventLine(ev: SpindleEvent): string {
  switch (ev.event) {
    case 'task.state': return `state ${ev.data.from}>${ev.data.to}`;
    case 'run.started': return `started ${ev.data.run}`;
    case 'run.ended': return `ended ${ev.data.run} ${ev.data.state}`;
    case 'run.progress': return `progress ${ev.data.run}`;
  }
}
