import { chmodSync, lstatSync, mkdirSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { currentUid, describeUntrusted, untrustedComponent } from '../api/trusted-path.js';
import { SpindleError } from '../errors.js';

/**
 * Makes the data directory ready, private to its owner whatever the umask, and refuses one that
 * another local user could have prepared or can still change: a runtime started by root in a
 * directory another user made would otherwise write its store through their symlinks (a planted
 * `store/MANIFEST-000001 → /root/file` overwrites that file) and serve its socket where they can
 * swap it. The rules, checked with lstat (links are never followed to decide):
 * - the data directory (after symlinks) belongs to this user and is writable by nobody else; a
 *   data path that is a symlink is followed only if the link belongs to this user or root;
 * - every directory above it, and the socket's directory, belongs to this user or root and is
 *   writable by nobody else unless sticky (/tmp is fine);
 * - the store directory and every entry in it belong to this user and none is a symlink.
 * Errors: DATA_DIR_UNSAFE (naming the path and the fix), STORE_INVALID (the data path is not a
 * directory), STORE_READONLY (it cannot be created).
 */
export function prepareDataDir(dir: string, socketPath: string | null = null): void {
  prepareOwnDir(dir, DATA_DIR, socketPath);
  const uid = currentUid();
  if (uid !== null) assertStoreHasNoLinks(join(dir, 'store'), uid);
}

/**
 * A store kept outside the data directory (`--store level:DIR`) gets the data directory's rules
 * (this user's, private, nothing above it that another user can change) and the store's (no
 * symlink, itself or in it): there is no data directory around it to vouch for it.
 */
export function prepareStoreDir(dir: string): void {
  prepareOwnDir(dir, STORE_DIR, null);
  const uid = currentUid();
  if (uid !== null) assertStoreHasNoLinks(dir, uid);
}

/** The same rules for an existing data directory, changing nothing (for `spindle repair`). */
export function assertDataDirSafe(dir: string): void {
  assertOwnDirSafe(dir, DATA_DIR, join(dir, 'store'));
}

/** The same rules for an existing store directory of its own, changing nothing (for `spindle repair --store`). */
export function assertStoreDirSafe(dir: string): void {
  assertOwnDirSafe(dir, STORE_DIR, dir);
}

/** How the messages name the directory being prepared. */
interface DirRole {
  dir: string;
  path: string;
}
const DATA_DIR: DirRole = { dir: 'data directory', path: 'data path' };
const STORE_DIR: DirRole = { dir: 'store directory', path: 'store path' };

function prepareOwnDir(dir: string, role: DirRole, socketPath: string | null): void {
  const uid = currentUid();
  const st = statSync(dir, { throwIfNoEntry: false });
  if (st !== undefined && !st.isDirectory()) {
    throw new SpindleError('STORE_INVALID', `the ${role.path} ${dir} exists and is not a directory`, { path: dir });
  }
  // Nothing is created under a directory someone else controls.
  if (uid !== null) {
    assertTrusted(dir, uid, role.dir);
    if (socketPath !== null && dirname(socketPath) !== dir) assertTrusted(dirname(socketPath), uid, 'socket directory');
  }
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new SpindleError('STORE_READONLY', `cannot create the ${role.dir} ${dir}: ${(err as Error).message}`, { path: dir }, err);
  }
  if (uid !== null) {
    assertTrusted(dir, uid, role.dir);
    assertOwnAndPrivate(realpathSync(dir), uid, role);
  }
  try {
    chmodSync(dir, 0o700);
  } catch (err) {
    throw new SpindleError('STORE_READONLY', `cannot make the ${role.dir} ${dir} private (chmod 700): ${(err as Error).message}`, { path: dir }, err);
  }
}

function assertOwnDirSafe(dir: string, role: DirRole, store: string): void {
  const uid = currentUid();
  if (uid === null || statSync(dir, { throwIfNoEntry: false }) === undefined) return;
  assertTrusted(dir, uid, role.dir);
  assertOwnAndPrivate(realpathSync(dir), uid, role);
  assertStoreHasNoLinks(store, uid);
}

function unsafe(path: string, message: string): SpindleError {
  return new SpindleError('DATA_DIR_UNSAFE', message, { path });
}

function assertTrusted(path: string, uid: number, what: string): void {
  const found = untrustedComponent(path, uid);
  if (found === null) return;
  const where = found.path === resolve(path) ? '' : ` ${path}`;
  throw unsafe(found.path, `refusing the ${what}${where}: ${describeUntrusted(found, uid)}`);
}

/** Root's own directories are not enough here: the data (or store) directory must be this user's. */
function assertOwnAndPrivate(dir: string, uid: number, role: DirRole): void {
  const st = lstatSync(dir);
  if (st.uid !== uid) {
    throw unsafe(dir, `refusing the ${role.dir} ${dir}: it belongs to uid ${st.uid}, not to you (uid ${uid}); use a directory of your own, or if it is yours check what is in it and \`chown -R ${uid} ${dir}\``);
  }
  if ((st.mode & 0o022) !== 0) {
    throw unsafe(dir, `refusing the ${role.dir} ${dir}: it is writable by others (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}); check what is in it, then \`chmod 700 ${dir}\``);
  }
}

/** LevelDB opens its files by name and follows links: a link in the store is a write elsewhere. */
function assertStoreHasNoLinks(store: string, uid: number): void {
  const st = lstatSync(store, { throwIfNoEntry: false });
  if (st === undefined || (!st.isDirectory() && !st.isSymbolicLink())) return;
  if (st.isSymbolicLink()) {
    throw unsafe(store, `refusing the store ${store}: it is a symlink, and the store is never reached through one; put the directory itself there`);
  }
  assertOwnedBy(store, st.uid, uid);
  for (const entry of readdirSync(store, { withFileTypes: true })) {
    const path = join(store, entry.name);
    if (entry.isSymbolicLink()) {
      throw unsafe(path, `refusing the store ${store}: ${path} is a symlink, which LevelDB would write through; remove it (it was not made by Spindle)`);
    }
    assertOwnedBy(path, lstatSync(path).uid, uid);
  }
}

function assertOwnedBy(path: string, owner: number, uid: number): void {
  if (owner !== uid) {
    throw unsafe(path, `refusing the store: ${path} belongs to uid ${owner}, not to you (uid ${uid}); check it, then \`chown -R ${uid} ${path}\`, or use another data directory`);
  }
}
