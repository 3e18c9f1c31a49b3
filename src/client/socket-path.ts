import { join } from 'node:path';

/** Where a runtime listens: its data directory, or its socket's path. */
export interface RuntimeAddress {
  /** The runtime's data directory (default $SPINDLE_DATA or ./.spindle); the socket is `spindle.sock` in it. */
  data?: string;
  /** The socket's path; wins over `data`. */
  socket?: string;
}

export function socketPathOf(address: RuntimeAddress, env: NodeJS.ProcessEnv = process.env): string {
  return address.socket ?? join(address.data ?? env.SPINDLE_DATA ?? '.spindle', 'spindle.sock');
}
