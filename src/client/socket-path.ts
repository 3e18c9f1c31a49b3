import { join } from 'node:path';

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
