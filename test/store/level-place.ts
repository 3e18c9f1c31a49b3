import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelSource } from '../../src/store/level-source/level-source.js';
import { LevelStore } from '../../src/store/level-store.js';
import type { SourceFactory } from '../source-contract/contract.js';

/** For the source contract: a place is a temp directory; each open is a LevelDB store in it, with a LevelSource over it. */
export function levelFactory({ windowSize }: { windowSize: number }): SourceFactory {
  return {
    async place() {
      const dir = mkdtempSync(join(tmpdir(), 'spindle-level-contract-'));
      return {
        async open({ clock, log }) {
          const store = new LevelStore({ path: join(dir, 'store'), sync: false });
          await store.open();
          return { source: new LevelSource({ store, clock, log, windowSize }), close: () => store.close() };
        },
        async drop() {
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}
