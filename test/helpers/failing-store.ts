import { SpindleError } from '../../src/errors.js';
import { LevelStore } from '../../src/store/level-store.js';
import type { ChangeSet } from '../../src/store/store.js';

/**
 * The real LevelDB store behind a switch that makes writes fail on demand, one layer up, where
 * the supervisor sees what a full disk gives it: this pins the supervisor's side of S1 (undo,
 * refuse, record a finished run later). The full disk itself, on a real tmpfs, is in
 * test/reliability/full-disk.test.ts and test/store/level-store-full-disk.test.ts.
 */
export class FailingStore extends LevelStore {
  failing = false;
  failures = 0;
  #onFailure: Array<() => void> = [];

  override async commit(changes: ChangeSet): Promise<void> {
    if (this.failing) {
      this.failures++;
      for (const fn of this.#onFailure.splice(0)) fn();
      throw new SpindleError('STORE_UNAVAILABLE', 'the store could not write: no space left on device (simulated)');
    }
    return super.commit(changes);
  }

  nextFailure(): Promise<void> {
    return new Promise((resolve) => this.#onFailure.push(resolve));
  }
}
