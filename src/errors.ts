/**
 * The one error registry. Every error Spindle raises or records carries a stable `code` from
 * here; README's error table lists the same codes (a test checks that the two agree).
 */

/** Errors answered to clients (SPEC §6), with the JSON-RPC error code each maps to. */
export const CLIENT_ERRORS = {
  BAD_REQUEST: -32602,
  INVALID_ARGUMENT: -32602,
  UNKNOWN_TYPE: -32001,
  INVALID_PARAMS: -32602,
  INVALID_SCHEDULE: -32602,
  KEY_CONFLICT: -32002,
  NOT_FOUND: -32003,
  INVALID_STATE: -32004,
  QUEUE_FULL: -32005,
  PAYLOAD_TOO_LARGE: -32006,
  FRAME_TOO_LARGE: -32007,
  FRAME_TIMEOUT: -32008,
  TOO_MANY_CONNECTIONS: -32009,
  STORE_UNAVAILABLE: -32010,
  SHUTTING_DOWN: -32011,
  /** The store's files are damaged (at start, or found at run time: the runtime then stops). */
  STORE_CORRUPT: -32012,
  /** A purge's (or, over HTTP, a bulk action's) confirmation is unknown, used, expired or for another filter. */
  CONFIRMATION_INVALID: -32013,
  /** A bug on the runtime's side; the runtime log has the details, the client only this code. */
  INTERNAL: -32603,
} as const;

/** Codes recorded on a failed run (SPEC §6). */
export const RUN_ERRORS = [
  'HANDLER_ERROR',
  'TIMEOUT',
  'CANCELLED',
  'WORKER_EXITED',
  'WORKER_CRASHED',
  'WORKER_OOM',
  'HANDLER_LOAD_FAILED',
  'OUTPUT_NOT_SERIALIZABLE',
  'OUTPUT_TOO_LARGE',
] as const;

/** Start-up failures (SPEC §6), plus the runtime's own configuration errors. */
export const STARTUP_ERRORS = [
  'ALREADY_RUNNING',
  'STORE_READONLY',
  'STORE_INVALID',
  'SOCKET_PATH_IN_USE',
  'INVALID_OPTION',
  'TASKS_DIR_INVALID',
  'DATA_DIR_UNSAFE',
  /** `--http`: the address cannot be listened on (in use, not this machine's, a privileged port). */
  'HTTP_LISTEN_FAILED',
] as const;

/** Answered by the HTTP server only (README, Dashboard and metrics); the socket never sees them. */
export const HTTP_ERRORS = [
  'UNAUTHORIZED',
  'READ_ONLY',
  'CROSS_SITE_REQUEST',
  'BODY_TOO_LARGE',
  'METHOD_NOT_ALLOWED',
] as const;

/** Raised by the client proxy and the CLI, never by the runtime. */
export const CONNECTION_ERRORS = [
  'RUNTIME_UNREACHABLE',
  'CONNECTION_LOST',
  'CLIENT_CLOSED',
  'BAD_RESPONSE',
  'RUNTIME_UNTRUSTED',
  /** The CLI: a file named on the command line (`--file`, `--params @FILE`) cannot be read. */
  'FILE_UNREADABLE',
] as const;

export type ClientErrorCode = keyof typeof CLIENT_ERRORS;
export type RunErrorCode = (typeof RUN_ERRORS)[number];
export type StartupErrorCode = (typeof STARTUP_ERRORS)[number];
export type ConnectionErrorCode = (typeof CONNECTION_ERRORS)[number];
export type HttpErrorCode = (typeof HTTP_ERRORS)[number];
export type ErrorCode = ClientErrorCode | RunErrorCode | StartupErrorCode | ConnectionErrorCode | HttpErrorCode;

export interface SpindleErrorDetails {
  /** The request field, option or schedule field at fault, e.g. `timeout` or `schedule.cron`. */
  field?: string;
  /** Failing JSON paths, for INVALID_PARAMS. */
  paths?: string[];
  /** A filesystem path, for start-up failures. */
  path?: string;
  [extra: string]: unknown;
}

export class SpindleError extends Error {
  override readonly name = 'SpindleError';
  readonly code: ErrorCode;
  readonly details: SpindleErrorDetails;

  constructor(code: ErrorCode, message: string, details: SpindleErrorDetails = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string } & SpindleErrorDetails {
    return { ...this.details, code: this.code, message: this.message };
  }
}

export function isSpindleError(err: unknown, code?: ErrorCode): err is SpindleError {
  return err instanceof SpindleError && (code === undefined || err.code === code);
}

/** Shorthand for the most common refusal: a bad value in a named field. */
export function invalidArgument(field: string, message: string): SpindleError {
  return new SpindleError('INVALID_ARGUMENT', `${field}: ${message}`, { field });
}

/** No task with this id (never was, or removed after its retention). */
export function taskNotFound(id: unknown): SpindleError {
  const shown = String(id).slice(0, 64);
  return new SpindleError('NOT_FOUND', `no task with id ${JSON.stringify(shown)}; it may have been removed after its retention`, { taskId: shown });
}
