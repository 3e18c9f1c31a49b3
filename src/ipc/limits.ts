import { SECOND } from '../duration.js';
import { LINE_READER_DEFAULTS } from '../api/line-reader.js';

/**
 * The socket server's limits by default. Apart from the server so the runtime's options can
 * default to them without importing the server (which serves the runtime).
 */
export const IPC_DEFAULTS = {
  ...LINE_READER_DEFAULTS,
  maxConnections: 256,
  maxPendingWriteBytes: 8 * 1024 * 1024,
  writeTimeoutMs: 10 * SECOND,
  maxReplyBytes: 4 * 1024 * 1024,
  maxTaskBytes: 1024 * 1024,
  /** Requests one connection may have running; past it the server stops reading that socket. */
  maxInFlight: 1024,
} as const;
