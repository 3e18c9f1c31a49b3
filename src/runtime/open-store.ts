import type { SpindleError } from '../errors.js';
import type { StoreSpec } from '../store-spec.js';
import { LevelStore } from '../store/level-store.js';
import type { RepairReport } from '../store/repair.js';
import type { TaskStore } from '../store/store.js';
import { assertDataDirSafe, assertStoreDirSafe, prepareStoreDir } from './data-dir.js';

/**
 * The one place that turns a store spec (`--store`) into a store: the runtime and `spindle
 * repair` both come here, so a new kind of store is added here and nowhere else.
 */

/** What the runtime needs of a store besides the TaskStore the supervisor uses. */
export interface RuntimeStore extends TaskStore {
  /** Why the store stopped serving for good, or null. */
  readonly failure: SpindleError | null;
}

export interface CreateStoreOptions {
  /** fsync every commit before it resolves. */
  sync: boolean;
  /** Called once when the store stops serving for good (see LevelStoreOptions). */
  onFatal?: (err: SpindleError) => void;
}

/**
 * The store `spec` names, not yet opened. A store outside the data directory has its directory
 * checked and made private first (DATA_DIR_UNSAFE, STORE_INVALID, STORE_READONLY); the default
 * one is covered by the data directory's checks, made before.
 */
export function createStore(spec: StoreSpec, options: CreateStoreOptions): RuntimeStore {
  if (spec.dataDir === null) prepareStoreDir(spec.path);
  return new LevelStore({ ...options, path: spec.path });
}

/** Repairs the store `spec` names, which no runtime may hold (ALREADY_RUNNING). */
export async function repairStore(spec: StoreSpec): Promise<RepairReport> {
  // Repair rewrites the manifest by name: never in a directory another user could have laid out.
  if (spec.dataDir === null) assertStoreDirSafe(spec.path);
  else assertDataDirSafe(spec.dataDir);
  return LevelStore.repair(spec.path);
}
