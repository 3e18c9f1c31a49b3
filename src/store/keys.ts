import type { TaskRecord } from '../task/record.js';
import type { TaskState } from '../task/state.js';
import { TERMINAL_STATES } from '../task/state.js';
import { errorKeys } from './search-keys.js';

/**
 * The LevelDB key layout. Type names ([a-z0-9._-]), states and ids (base 36) never contain '!',
 * and numbers are zero-padded, so plain string order is the order each index needs. Each index
 * key costs a put and a delete on every transition that moves it, so there are as few as the
 * reads need: listing by state alone merges the types' ranges, listing by type the states'.
 *
 *   t!<id>                     task record (its last run inside it)
 *   r!<id>!<run>               an earlier run record, written when the next run starts
 *   h!<id>!<chunk>             spilled history chunk
 *   y!<type>!<state>!<id>      type + state index
 *   d!<due>!<id>               dispatchable: queued, not paused, with a due time
 *   k!<key>                    idempotency key of a live task, or of an ended one within its
 *                              key retention (value: id)
 *   kx!<keyExpiresAt>!<id>     key retention: ended tasks still holding a key, by expiry
 *   x!<expiresAt>!<id>         retention: terminal tasks by expiry
 *   c!<type>                   state counts of a type (so also the list of types)
 *   cp!<type>                  paused open tasks of a type (a number), kept once meta says pausedCounts
 *   e!<word>!<id>              failed task by a word of its error (search-keys.ts)
 *   m!<type>!<minute>          runs of a type in one minute (series-rows.ts; swept after 48 h)
 *   p!<type>!<id>              paused tasks (open ones with their pause flag set)
 *   tp!<type>                  a paused type (an operator's setting, not derived: repair keeps it)
 *   meta                       store layout version
 *   w                          the number of the last batch written (each batch rewrites it)
 */
export const META_KEY = 'meta';
export const WRITE_MARK_KEY = 'w';
/**
 * 4: task records in record-codec's layout 2 (layout 3 held only layout-1 records, which 4 still
 * reads, so a store of layout 3 is taken as it is and its meta rewritten to 4 at open).
 */
export const STORE_LAYOUT = 4;
/** An earlier layout this version opens as it is (see STORE_LAYOUT). */
export const STORE_LAYOUT_READ = 3;

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const TIME_WIDTH = 15;

export const taskKey = (id: string): string => `t!${id}`;
export const runKey = (id: string, run: number): string => `r!${id}!${pad(run, 9)}`;
export const historyKey = (id: string, chunk: number): string => `h!${id}!${pad(chunk, 9)}`;
/**
 * Prefixes made once per type and state: every transition writes one or two of these keys. The
 * cache holds at most MAX_CACHED_TYPES types (a runtime has as many as its tasks directory holds
 * modules); past that a prefix is built each time, so no stream of names can grow it.
 */
const typeStatePrefixes = new Map<string, Map<TaskState, string>>();
export const MAX_CACHED_TYPES = 1024;
export function typeStatePrefix(type: string, state: TaskState): string {
  let byState = typeStatePrefixes.get(type);
  if (byState === undefined) {
    if (typeStatePrefixes.size >= MAX_CACHED_TYPES) return `y!${type}!${state}!`;
    typeStatePrefixes.set(type, (byState = new Map()));
  }
  let prefix = byState.get(state);
  if (prefix === undefined) byState.set(state, (prefix = `y!${type}!${state}!`));
  return prefix;
}
/** Types in the prefix cache (for tests of its bound). */
export const cachedPrefixTypes = (): number => typeStatePrefixes.size;
export const typeStateKey = (type: string, state: TaskState, id: string): string => typeStatePrefix(type, state) + id;
export const dueKey = (due: number, id: string): string => `d!${pad(due, TIME_WIDTH)}!${id}`;
export const keyKey = (key: string): string => `k!${key}`;
export const expiryKey = (at: number, id: string): string => `x!${pad(at, TIME_WIDTH)}!${id}`;
export const keyExpiryKey = (at: number, id: string): string => `kx!${pad(at, TIME_WIDTH)}!${id}`;
/** The last key-expiry index key at or before `at` (for a range read up to `at`). */
export const keyExpiryUpTo = (at: number): string => `kx!${pad(at, TIME_WIDTH)}!\xff`;
export const counterKey = (type: string): string => `c!${type}`;
export const pausedCountKey = (type: string): string => `cp!${type}`;
/** The meta record's field saying the store keeps paused counts (a store made before them gets them at its next open). */
export const PAUSED_KEPT = 'pausedCounts';

/** A task counts as paused while it is open (a pause of an ended task means nothing more). */
export const pausedOf = (rec: TaskRecord): boolean => rec.paused && !TERMINAL_STATES.has(rec.state);
export const pausedPrefix = (type: string): string => `p!${type}!`;
export const pausedKey = (type: string, id: string): string => `p!${type}!${id}`;
export const typePausedKey = (type: string): string => `tp!${type}`;
/** Every index range derived from the tasks, which `spindle repair` clears and rebuilds. */
export const DERIVED_RANGES = ['y!', 'd!', 'k!', 'x!', 'c!', 'cp!', 'e!', 'p!'] as const;

/** The last segment of an index key: the task id. */
export const idOf = (key: string): string => key.slice(key.lastIndexOf('!') + 1);

export function parseDueKey(key: string): { due: number; id: string } {
  return { due: Number(key.slice(2, 2 + TIME_WIDTH)), id: key.slice(3 + TIME_WIDTH) };
}

/** A task is dispatchable — in the due index — when queued, not paused and due at some time. */
export function isDispatchable(rec: TaskRecord): rec is TaskRecord & { nextRunAt: number } {
  return rec.state === 'queued' && !rec.paused && rec.nextRunAt !== null;
}

/**
 * What places a task version in each index: a task's entry in an index moves exactly when its
 * value here changes, so a write compares these and builds key strings only for what moved.
 */
export const dueOf = (rec: TaskRecord): number | null => (isDispatchable(rec) ? rec.nextRunAt : null);
/**
 * An idempotency key is held while its task is live, and after it ended until its key retention
 * is released (keyExpiresAt back to null: see src/supervisor/idempotency-keys.ts).
 */
export const heldKeyOf = (rec: TaskRecord): string | null =>
  (rec.key !== null && (!TERMINAL_STATES.has(rec.state) || rec.keyExpiresAt !== null) ? rec.key : null);

/** Every index key a task version occupies (for deleting a task). */
export function indexKeys(rec: TaskRecord): string[] {
  const due = dueOf(rec);
  const key = heldKeyOf(rec);
  return [
    typeStateKey(rec.type, rec.state, rec.id),
    ...(due !== null ? [dueKey(due, rec.id)] : []),
    ...(key !== null ? [keyKey(key)] : []),
    ...(rec.keyExpiresAt !== null ? [keyExpiryKey(rec.keyExpiresAt, rec.id)] : []),
    ...(rec.expiresAt !== null ? [expiryKey(rec.expiresAt, rec.id)] : []),
    ...errorKeys(rec),
    ...(pausedOf(rec) ? [pausedKey(rec.type, rec.id)] : []),
  ];
}
