import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { SpindleError } from '../errors.js';
import type { StoreSpec } from '../store-spec.js';
import { LevelSource } from '../store/level-source/level-source.js';
import { LevelStore } from '../store/level-store.js';
import type { RepairReport } from '../api/runtime-api.js';
import type { TaskSource } from '../store/task-source.js';
import { assertDataDirSafe, assertStoreDirSafe, prepareStoreDir } from './data-dir.js';

/**
 * The one place that turns a store spec (`--store`) into a store: the runtime and `spindle
 * repair` both come here, so a new kind of store is added here and nowhere else.
 */

/** An open store: the task source the supervisor talks to, and what the runtime needs besides. */
export interface RuntimeStore {
  readonly source: TaskSource;
  /** Why the store stopped serving for good, or null. */
  readonly failure: SpindleError | null;
  /** Closes the store (after the source is closed). */
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** fsync every commit before it resolves. */
  sync: boolean;
  /** Called once when the store stops serving for good (see LevelStoreOptions). */
  onFatal?: (err: SpindleError) => void;
  clock: Clock;
  log: Logger;
  /** Dispatchable tasks the LevelDB source holds in memory at most. */
  windowSize: number;
  /** PostgreSQL: how long a claim holds without renewal. */
  leaseMs: number;
}

/**
 * Opens the store `spec` names. A store outside the data directory has its directory checked and
 * made private first (DATA_DIR_UNSAFE, STORE_INVALID, STORE_READONLY); the default one is covered
 * by the data directory's checks, made before.
 */
export async function openStore(spec: StoreSpec, options: OpenStoreOptions): Promise<RuntimeStore> {
  if (spec.kind === 'postgres') {
    // Loaded only for a PostgreSQL store: an embedded runtime never loads the driver.
    const [{ PgDatabase }, { PgSource }] = await Promise.all([import('../store/pg-source/pg-database.js'), import('../store/pg-source/pg-source.js')]);
    const db = await PgDatabase.open({ url: spec.url, log: options.log });
    const source = new PgSource({ db, log: options.log, clock: options.clock, leaseMs: options.leaseMs });
    // The database is the store: what PostgreSQL refuses is answered per call, it never stops the runtime.
    return { source, failure: null, close: () => db.close() };
  }
  if (spec.dataDir === null) prepareStoreDir(spec.path);
  const store = new LevelStore({ sync: options.sync, ...(options.onFatal ? { onFatal: options.onFatal } : {}), path: spec.path });
  await store.open();
  const source = new LevelSource({ store, clock: options.clock, log: options.log, windowSize: options.windowSize });
  return { source, get failure() { return store.failure; }, close: () => store.close() };
}

/** Repairs the store `spec` names, which no runtime may hold (ALREADY_RUNNING). */
export async function repairStore(spec: StoreSpec): Promise<RepairReport> {
  if (spec.kind === 'postgres') throw new SpindleError('INVALID_OPTION', 'store: repair is for LevelDB stores; a PostgreSQL database is repaired by PostgreSQL', { field: 'store' });
  // Repair rewrites the manifest by name: never in a directory another user could have laid out.
  if (spec.dataDir === null) assertStoreDirSafe(spec.path);
  else assertDataDirSafe(spec.dataDir);
  return LevelStore.repair(spec.path);
}
