import { EVENT_NAMES, type EventFilter, type EventName } from '../api/events.js';
import type { Method } from '../api/methods.js';
import type { ListOptions, PurgeFilter, RuntimeApi } from '../api/runtime-api.js';
import { parseDuration } from '../duration.js';
import { invalidArgument, SpindleError } from '../errors.js';
import { previewSchedule } from '../schedule/index.js';
import { MAX_ID_LENGTH } from '../supervisor/read-limits.js';
import { MAX_TYPE_NAME_LENGTH } from '../task/registry.js';
import {
  MAX_SUBMIT_MANY, optionalBoolean, optionalNumber, optionalString, optionalStringArray, own, type Params, requiredArray, requiredString,
} from './protocol.js';

/**
 * The protocol's methods (SPEC §6): each reads its params field by field (JSON types and string
 * lengths here, ranges and meanings in the Runtime) and calls the in-process API.
 */

/** State and event names are short words; an ISO instant is under 40 characters. */
const MAX_STATE_LENGTH = 32;
const MAX_INSTANT_LENGTH = 64;
/** A purge confirmation is 24 base64url characters. */
const MAX_CONFIRM_LENGTH = 64;

/** What a reply that carries no task takes at most, about (stats, types, a preview). */
const SMALL_REPLY_BYTES = 16 * 1024;

/** What a method handler may use of its connection. */
export interface MethodConnection {
  readonly runtime: RuntimeApi;
  subscribe(filter: EventFilter): { subscription: string };
  unsubscribe(subscription: string): { ok: true };
}

type Handler = (conn: MethodConnection, params: Params) => unknown;

const byId = (call: (runtime: RuntimeApi, id: string) => Promise<unknown>): Handler => (c, p) => call(c.runtime, requiredString(p, 'id', MAX_ID_LENGTH));

/** Drops absent fields, so optional options stay absent rather than `undefined`. */
function present<T extends Record<string, unknown>>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

export const HANDLERS: Record<Method, Handler> = {
  'task.submit': (c, p) => c.runtime.submit(p),
  'task.submitMany': (c, p) => c.runtime.submitMany(requiredArray(p, 'tasks', MAX_SUBMIT_MANY)),
  'task.get': byId((r, id) => r.get(id)),
  'task.list': (c, p) => c.runtime.list(present({
    state: optionalString(p, 'state', MAX_STATE_LENGTH) as ListOptions['state'] | undefined,
    type: optionalString(p, 'type', MAX_TYPE_NAME_LENGTH),
    limit: optionalNumber(p, 'limit'),
    cursor: optionalString(p, 'cursor', MAX_ID_LENGTH),
    paused: optionalBoolean(p, 'paused'),
  })),
  'task.pending': (c, p) => c.runtime.pending(present({ type: optionalString(p, 'type', MAX_TYPE_NAME_LENGTH), limit: optionalNumber(p, 'limit') })),
  'task.cancel': byId((r, id) => r.cancel(id)),
  'task.pause': byId((r, id) => r.pause(id)),
  'task.resume': byId((r, id) => r.resume(id)),
  'task.runNow': byId((r, id) => r.runNow(id)),
  'task.retry': byId((r, id) => r.retry(id)),
  'task.delete': byId((r, id) => r.delete(id)),
  'task.purge': (c, p) => c.runtime.purge({
    state: requiredString(p, 'state', MAX_STATE_LENGTH) as PurgeFilter['state'],
    ...present({
      type: optionalString(p, 'type', MAX_TYPE_NAME_LENGTH), before: optionalString(p, 'before', MAX_INSTANT_LENGTH),
      confirm: optionalString(p, 'confirm', MAX_CONFIRM_LENGTH),
    }),
  }),
  'task.reschedule': (c, p) => c.runtime.reschedule(requiredString(p, 'id', MAX_ID_LENGTH), own(p, 'schedule')),
  'task.runs': (c, p) => c.runtime.runs(requiredString(p, 'id', MAX_ID_LENGTH), optionalNumber(p, 'after')),
  'task.history': (c, p) => c.runtime.history(requiredString(p, 'id', MAX_ID_LENGTH), optionalNumber(p, 'after')),
  'type.list': (c) => c.runtime.types(),
  'type.pause': (c, p) => c.runtime.pauseType(requiredString(p, 'type', MAX_TYPE_NAME_LENGTH)),
  'type.resume': (c, p) => c.runtime.resumeType(requiredString(p, 'type', MAX_TYPE_NAME_LENGTH)),
  'schedule.preview': (c, p) => {
    const count = own(p, 'count');
    if (typeof count !== 'number') throw new SpindleError('BAD_REQUEST', 'count must be a number', { field: 'count' });
    const now = c.runtime.options.clock.now();
    const after = optionalString(p, 'after', MAX_INSTANT_LENGTH);
    const afterMs = after === undefined ? now : Date.parse(after);
    if (Number.isNaN(afterMs)) throw invalidArgument('after', 'must be an ISO-8601 instant such as "2026-01-01T00:00:00Z"');
    return { times: previewSchedule(own(p, 'schedule'), count, afterMs, now).map((t) => new Date(t).toISOString()) };
  },
  'runtime.stats': (c) => c.runtime.stats(),
  'runtime.stop': (c, p) => {
    const grace = own(p, 'grace');
    const graceMs = grace === undefined ? undefined : parseDuration(grace, 'grace');
    // setImmediate runs after this reply is written: the client hears "ok" before the stop begins.
    setImmediate(() => {
      c.runtime.stop(graceMs).catch((err: unknown) => c.runtime.log.error({ err }, 'runtime stop failed'));
    });
    return { ok: true };
  },
  'events.subscribe': (c, p) => {
    const types = optionalStringArray(p, 'types', EVENT_NAMES.length * 4, MAX_STATE_LENGTH);
    const unknown = types?.filter((t) => !(EVENT_NAMES as readonly string[]).includes(t)) ?? [];
    if (unknown.length > 0) throw invalidArgument('types', `unknown event ${JSON.stringify(unknown[0])}; events are ${EVENT_NAMES.join(', ')}`);
    return c.subscribe(present({
      types: types as EventName[] | undefined, taskId: optionalString(p, 'taskId', MAX_ID_LENGTH), type: optionalString(p, 'type', MAX_TYPE_NAME_LENGTH),
    }));
  },
  'events.unsubscribe': (c, p) => c.unsubscribe(requiredString(p, 'subscription', MAX_ID_LENGTH)),
};

/**
 * The room a request's reply may need: a page for the paged reads, a task for the methods that
 * answer one, about what was sent for a submit (its answer echoes the params), little otherwise.
 * An estimate that is short only lets more requests run at once; the buffer stays near the cap.
 */
export function replyCost(method: Method, lineLength: number, limits: { maxReplyBytes: number; maxTaskBytes: number }): number {
  switch (method) {
    case 'task.list':
    case 'task.pending':
    case 'task.runs':
    case 'task.history':
      return limits.maxReplyBytes;
    case 'task.get':
    case 'task.cancel':
    case 'task.pause':
    case 'task.resume':
    case 'task.runNow':
    case 'task.retry':
    case 'task.reschedule':
      return limits.maxTaskBytes;
    case 'task.submit':
    case 'task.submitMany':
      return 2 * lineLength + SMALL_REPLY_BYTES;
    default:
      return SMALL_REPLY_BYTES;
  }
}
