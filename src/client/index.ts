/**
 * `spindle/client`: the client alone, for programs that talk to a runtime and never run one.
 * Everything here is the client and the types it answers with: importing it loads no part of the
 * runtime (no LevelDB addon, worker pool, state machines, TypeScript loader or logger).
 */
export { Client } from './client.js';
export type { ClientOptions, SubmitOptions, TypedSubmitOptions } from './client.js';
export type { TaskMap, TaskTypes } from './task-map.js';
export type { Schedule } from '../api/schedule-input.js';
export type { ClientEvent, EventStream } from './event-stream.js';
export type { RuntimeAddress } from './socket-path.js';
export { SpindleError, isSpindleError, CLIENT_ERRORS, RUN_ERRORS, STARTUP_ERRORS, CONNECTION_ERRORS } from '../errors.js';
export type { ErrorCode, ClientErrorCode, RunErrorCode, StartupErrorCode, ConnectionErrorCode } from '../errors.js';
export type { TaskView, SubmittedView, RunView, HistoryView } from '../api/views.js';
export type { Stats, ListOptions, TypeInfo, PurgeFilter, PurgePreview, PurgeResult } from '../api/runtime-api.js';
export type { EventMap, EventName, EventFilter, SpindleEvent } from '../api/events.js';
export type { TaskState, TaskReason } from '../api/states.js';
