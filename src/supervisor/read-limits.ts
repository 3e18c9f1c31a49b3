import { EVENT_NAMES, type EventFilter } from '../api/events.js';
import type { TaskView } from '../api/views.js';
import { invalidArgument, SpindleError } from '../errors.js';
import { isTypeName, MAX_TYPE_NAME_LENGTH } from '../task/registry.js';

/** Records read from the store at first for one page; later reads size themselves by what came. */
const FIRST_CHUNK = 16;
const MAX_CHUNK = 256;

/**
 * A type named in a read filter (list, pending, events) must be one the runtime knows: loaded
 * from a module now, or counted by the store, so tasks of a type whose module was removed can
 * still be listed and watched. Anything else is refused before it reaches the store or a cache:
 * a made-up name could otherwise cost memory for as long as the runtime runs.
 */
export function checkTypeFilter(type: unknown, isKnown: (type: string) => boolean, field = 'type'): void {
  if (type === undefined) return;
  if (typeof type !== 'string') throw new SpindleError('BAD_REQUEST', `${field} must be a string`, { field });
  if (type.length > MAX_TYPE_NAME_LENGTH) {
    throw invalidArgument(field, `a type name has at most ${MAX_TYPE_NAME_LENGTH} characters, got ${type.length}`);
  }
  if (!isTypeName(type) || !isKnown(type)) {
    throw new SpindleError('UNKNOWN_TYPE', `unknown task type ${JSON.stringify(type)} in ${field}; \`spindle types\` lists the loaded ones`, { field });
  }
}

/**
 * Builds one page of task views whose JSON stays under `maxBytes`, so no reply grows with the
 * size of what tasks hold: a page ends early (its cursor says where) once the next task would pass
 * the cap. The first task always fits, so every page makes progress. Records are read in chunks
 * sized by the views seen so far, so a page of large tasks never holds more than about the cap.
 */
export class ViewPager {
  readonly views: TaskView[] = [];
  /** The id of the last task taken, for the next page's cursor. */
  lastId: string | null = null;
  /** True once a task did not fit: the page ended early. */
  full = false;
  readonly #load: (ids: string[]) => Promise<Array<TaskView | undefined>>;
  #left: number;
  #largest = 0;

  constructor(maxBytes: number, load: (ids: string[]) => Promise<Array<TaskView | undefined>>) {
    this.#left = maxBytes;
    this.#load = load;
  }

  /** Takes views of `ids` in order, those `accept` allows, until `want` are held or the page is full. */
  async collect(ids: readonly string[], want: number, accept: (view: TaskView) => boolean = () => true): Promise<void> {
    let i = 0;
    while (i < ids.length && !this.full && this.views.length < want) {
      const size = this.#largest === 0 ? FIRST_CHUNK : Math.max(1, Math.min(MAX_CHUNK, Math.floor(this.#left / this.#largest)));
      const chunk = ids.slice(i, i + size);
      const views = await this.#load(chunk);
      for (let j = 0; j < chunk.length && this.views.length < want; j++) {
        const view = views[j];
        if (view === undefined || !accept(view)) continue;
        if (!this.#take(view)) return;
        this.lastId = chunk[j]!;
      }
      i += chunk.length;
    }
  }

  #take(view: TaskView): boolean {
    const bytes = Buffer.byteLength(JSON.stringify(view)) + 1;
    if (this.views.length > 0 && bytes > this.#left) {
      this.full = true;
      return false;
    }
    this.#left -= bytes;
    this.#largest = Math.max(this.#largest, bytes);
    this.views.push(view);
    return true;
  }
}

/** The leading items whose JSON stays under `maxBytes`; the first always fits. */
export function firstThatFit<T>(items: readonly T[], maxBytes: number): T[] {
  let left = maxBytes;
  let n = 0;
  for (; n < items.length; n++) {
    const bytes = Buffer.byteLength(JSON.stringify(items[n])) + 1;
    if (n > 0 && bytes > left) break;
    left -= bytes;
  }
  return items.slice(0, n);
}

/** Task ids are base 36 and about 19 characters; anything longer names no task. */
export const MAX_ID_LENGTH = 64;

/** More than every event name a few times over is no filter a client means to send. */
const MAX_EVENT_NAMES = 16;

/** An events filter: the same rules as a read filter, and a task id no longer than an id can be. */
export function checkEventFilter(filter: EventFilter, isKnown: (type: string) => boolean): void {
  checkTypeFilter(filter.type, isKnown);
  const taskId: unknown = filter.taskId;
  if (taskId !== undefined && (typeof taskId !== 'string' || taskId.length > MAX_ID_LENGTH)) {
    throw invalidArgument('taskId', `must be a task id of at most ${MAX_ID_LENGTH} characters`);
  }
  const types: unknown = filter.types;
  if (types !== undefined && (!Array.isArray(types) || types.length > MAX_EVENT_NAMES || types.some((t) => !(EVENT_NAMES as readonly unknown[]).includes(t)))) {
    throw invalidArgument('types', `must list events among ${EVENT_NAMES.join(', ')}`);
  }
}
