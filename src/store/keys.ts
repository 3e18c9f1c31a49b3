import type { TaskRecord } from '../task/record.js';
import type { TaskState } from '../task/state.js';
import { TERMINAL_STATES } from '../task/state.js';

/**
 * The LevelDB key layout. Type names ([a-z0-9._-]), states and ids (base 36) never contain '!',
 * and numbers are zero-padded, so plain string order is the order each index needs.
 *
 *   t!<id>                     task record
 *   r!<id>!<run>               run record
 *   h!<id>!<chunk>             spilled history chunk
 *   s!<state>!<id>             state index (value: type)
 *   y!<type>!<state>!<id>      type + state index
 *   n!<type>!<id>              type index
 *   d!<due>!<id>               dispatchable: queued, not paused, with a due time
 *   k!<key>                    idempotency key of a live task (value: id)
 *   x!<expiresAt>!<id>         retention: terminal tasks by expiry
 *   c!<type>                   state counts of a type
 *   meta                       store layout version
 */
export const META_KEY = 'meta';
export const STORE_LAYOUT = 2;

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const TIME_WIDTH = 15;

export const taskKey = (id: string): string => `t!${id}`;
export const runKey = (id: string, run: number): string => `r!${id}!${pad(run, 9)}`;
export const historyKey = (id: string, chunk: number): string => `h!${id}!${pad(chunk, 9)}`;
export const stateKey = (state: TaskState, id: string): string => `s!${state}!${id}`;
export const typeStateKey = (type: string, state: TaskState, id: string): string => `y!${type}!${state}!${id}`;
export const typeKey = (type: string, id: string): string => `n!${type}!${id}`;
export const dueKey = (due: number, id: string): string => `d!${pad(due, TIME_WIDTH)}!${id}`;
export const keyKey = (key: string): string => `k!${key}`;
export const expiryKey = (at: number, id: string): string => `x!${pad(at, TIME_WIDTH)}!${id}`;
export const counterKey = (type: string): string => `c!${type}`;

/** The last segment of an index key: the task id. */
export const idOf = (key: string): string => key.slice(key.lastIndexOf('!') + 1);

export function parseDueKey(key: string): { due: number; id: string } {
  return { due: Number(key.slice(2, 2 + TIME_WIDTH)), id: key.slice(3 + TIME_WIDTH) };
}

/** A task is dispatchable — in the due index — when queued, not paused and due at some time. */
export function isDispatchable(rec: TaskRecord): rec is TaskRecord & { nextRunAt: number } {
  return rec.state === 'queued' && !rec.paused && rec.nextRunAt !== null;
}

/** Every index key a task version occupies (value '' unless given), the type index aside. */
export function indexEntries(rec: TaskRecord): Array<[string, string]> {
  const out: Array<[string, string]> = [
    [stateKey(rec.state, rec.id), rec.type],
    [typeStateKey(rec.type, rec.state, rec.id), ''],
  ];
  if (isDispatchable(rec)) out.push([dueKey(rec.nextRunAt, rec.id), '']);
  if (rec.key !== null && !TERMINAL_STATES.has(rec.state)) out.push([keyKey(rec.key), rec.id]);
  if (rec.expiresAt !== null) out.push([expiryKey(rec.expiresAt, rec.id), '']);
  return out;
}
