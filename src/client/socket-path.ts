import { join } from 'node:path';
import { currentUid, describeUntrusted, untrustedComponent } from '../api/trusted-path.js';
import { SpindleError } from '../errors.js';

/** Where a runtime listens: its data directory, or its socket's path. */
export interface RuntimeAddress {
  /** The runtime's data directory (default $SPINDLE_DATA or ./.spindle); the socket is `spindle.sock` in it. */
  data?: string;
  /** The socket's path; wins over `data`. */
  socket?: string;
}

export const DEFAULT_DATA = '.spindle';
export const SOCKET_FILE = 'spindle.sock';

/** The data directory an address means: its own, else $SPINDLE_DATA, else ./.spindle. */
export function dataDirOf(address: Pick<RuntimeAddress, 'data'>, env: NodeJS.ProcessEnv = process.env): string {
  return address.data ?? env.SPINDLE_DATA ?? DEFAULT_DATA;
}

export function socketPathOf(address: RuntimeAddress, env: NodeJS.ProcessEnv = process.env): string {
  return address.socket ?? join(dataDirOf(address, env), SOCKET_FILE);
}

/**
 * Refuses a socket another user could have put there, before anything is sent to it: root's CLI
 * must never hand a submit (and its params) to a server someone else planted at the path. The
 * socket and every directory and link on the way to it must belong to the caller or root, and no
 * directory may be writable by others unless sticky (see untrustedComponent). A path that does
 * not exist, or that the caller may not look into, is left for connect() to report.
 * Errors: RUNTIME_UNTRUSTED.
 */
export function assertTrustedSocket(path: string): void {
  const uid = currentUid();
  if (uid === null) return;
  const found = untrustedComponent(path, uid);
  if (found === null) return;
  const why = found.problem === 'owner'
    ? `${found.path} belongs to uid ${found.uid}, not to you (uid ${uid}) or root, so what answers there may not be a runtime of yours; use a runtime you started, or run this as the user who started it`
    : describeUntrusted(found, uid);
  throw new SpindleError('RUNTIME_UNTRUSTED', `refusing to talk to ${path}, nothing was sent: ${why}`, { path: found.path });
}
