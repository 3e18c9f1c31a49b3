import type { Batch } from './index-writes.js';

/** The half of classic-level's chained batch below abstract-level's checks and encodings. */
interface NativeOps {
  _put(key: string, value: Uint8Array): void;
  _del(key: string): void;
}

/**
 * A group commit's puts and deletes, handed straight to classic-level's native batch.
 *
 * abstract-level's public `put` and `del` check the key and value, look up both encodings, and
 * build an operation object (a spread of the options) per call, for hooks, sublevels and write
 * events this store does not use: about 2 µs of the supervisor's thread per task at three task
 * writes and their index entries (measured with 256 runs per thread). Keys here are already
 * strings in the database's `utf8` key encoding and values bytes in its `view` encoding, which are
 * what those encodings pass through unchanged, and the database is the root (no sublevel prefix).
 *
 * `_put` and `_del` are abstract-level's private API (abstract-level 3, classic-level 3, pinned by
 * the lockfile); test/store/native-batch.test.ts fails if an upgrade takes them away. The public
 * batch counts its operations and skips a write of none, so every commit still puts one entry
 * through `put` (its write mark, see LevelStore.commit).
 */
export function nativeBatch(batch: Batch): Batch {
  const ops = batch as unknown as NativeOps;
  return {
    put: (key, value) => ops._put(key, value),
    del: (key) => ops._del(key),
  };
}
