import { execFileSync } from 'node:child_process';
import { appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './temp.js';

export interface Tmpfs {
  dir: string;
  /** Fills what is left of the mount with a file; resolves to its size in bytes. */
  fill(): number;
  /** Deletes the filler file, freeing its space. */
  free(): void;
  unmount(): void;
}

/** A real size-capped tmpfs (the test runs as root, as CI does), so a full disk is a real ENOSPC. */
export function mountTmpfs(sizeMb: number): Tmpfs {
  const dir = tempDir('spindle-tmpfs-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0700`, 'tmpfs', dir]);
  const filler = join(dir, 'filler');
  return {
    dir,
    fill() {
      const chunk = Buffer.alloc(4096, 0x61);
      let size = 0;
      for (;;) {
        try {
          appendFileSync(filler, chunk);
          size += chunk.length;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return size;
          throw err;
        }
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    unmount() {
      execFileSync('umount', ['-l', dir]);
    },
  };
}
