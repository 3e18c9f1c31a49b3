import { readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SpindleError } from '../errors.js';

/**
 * Checks on the files of a LevelDB store directory that LevelDB itself does not make: its files
 * without the CURRENT that names their manifest, and the marker of a repair in progress.
 */

/** Created (exclusively) by a repair for its whole run; holds the repairing process's pid. */
const REPAIR_MARKER = 'REPAIRING';

const DATA_FILE = /^(\d+\.(ldb|sst|log)|MANIFEST-\d+)$/;

/**
 * LevelDB opens a directory without CURRENT as a new, empty store and then deletes the table
 * files it does not know: everything in them would be gone. Such a directory is refused instead.
 */
export function assertStoreComplete(path: string): void {
  let names: string[];
  try {
    names = readdirSync(path);
  } catch {
    return; // missing (a new store) or unreadable: opening reports it
  }
  if (names.includes('CURRENT') || !names.some((n) => DATA_FILE.test(n))) return;
  throw new SpindleError('STORE_CORRUPT', `the store at ${path} has data files but no CURRENT file; run \`spindle repair\` to rebuild it (never start over it)`, { path });
}

/** Marks a repair in progress; ALREADY_RUNNING if another live process is repairing. */
export function claimRepair(path: string): void {
  const marker = join(path, REPAIR_MARKER);
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(marker, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
    }
    const pid = markerPid(marker);
    if (pid !== null && isAlive(pid)) {
      throw new SpindleError('ALREADY_RUNNING', `a repair (pid ${pid}) is running on the store at ${path}; wait for it to finish`, { path });
    }
    // Left by a repair that died: this one takes over.
    unlinkSync(marker);
  }
}

export function releaseRepair(path: string): void {
  try {
    unlinkSync(join(path, REPAIR_MARKER));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * For a runtime that has just taken the store's lock: a repair claims the marker before it tests
 * the lock, so a repair that slipped in between is seen here. A marker whose process is gone is
 * a repair cut short, which may have left the store half rebuilt.
 */
export function assertNoRepair(path: string): void {
  const marker = join(path, REPAIR_MARKER);
  let pid: number | null;
  try {
    pid = markerPid(marker);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (pid !== null && isAlive(pid)) {
    throw new SpindleError('ALREADY_RUNNING', `a repair (pid ${pid}) is running on the store at ${path}; start once it has finished`, { path });
  }
  throw new SpindleError('STORE_CORRUPT', `a repair of the store at ${path} was interrupted${pid === null ? '' : ` (pid ${pid})`}; run \`spindle repair\` again`, { path });
}

function markerPid(marker: string): number | null {
  const pid = Number.parseInt(readFileSync(marker, 'utf8'), 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
