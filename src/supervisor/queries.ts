import { invalidArgument, taskNotFound } from '../errors.js';
import { parseInteger } from '../duration.js';
import type { StateCounts } from '../api/runtime-api.js';
import type { TaskReader } from '../store/task-source.js';
import type { TaskRecord } from '../task/record.js';
import type { Registry } from '../task/registry.js';
import type { TaskState } from '../task/state.js';
import { TASK_STATES } from '../task/state.js';
import { TASK_ID_PATTERN } from '../task/task-id.js';
import { wellFormed } from '../task/well-formed.js';
import { checkTypeFilter, firstThatFit, ViewPager } from './read-limits.js';
import type { ListOptions } from '../api/runtime-api.js';
import type { HistoryView, RunView, TaskView } from '../api/views.js';
import { historyView, runView, taskView } from './task-view.js';

const LIST_MAX = 1000;

/** The read side of the supervisor: checks a query, asks the source's reader, cuts the reply at maxReplyBytes. */
export class Queries {
  readonly #reader: TaskReader;
  readonly #registry: Registry;
  readonly #maxReplyBytes: number;

  constructor(reader: TaskReader, registry: Registry, maxReplyBytes: number) {
    this.#reader = reader;
    this.#registry = registry;
    this.#maxReplyBytes = maxReplyBytes;
  }

  /** Loaded from a module now, or counted by the store (tasks of a removed module stay readable). */
  readonly knownType = (type: string): boolean => this.#registry.types.has(type) || this.#reader.knows(type);

  async get(id: string): Promise<TaskView> {
    const rec = await this.#read(id);
    if (rec === undefined) throw taskNotFound(id);
    return taskView(rec);
  }

  async list(options: ListOptions = {}): Promise<{ tasks: TaskView[]; cursor: string | null }> {
    const limit = options.limit === undefined ? 100 : parseInteger(options.limit, 'limit', 1, LIST_MAX);
    if ((options.state as string | undefined) === 'paused') {
      throw invalidArgument('state', 'paused is a flag, not a state: list paused tasks with paused: true (`spindle list --paused`)');
    }
    if (options.state !== undefined && !(TASK_STATES as readonly unknown[]).includes(options.state)) {
      throw invalidArgument('state', `must be one of ${TASK_STATES.join(', ')}`);
    }
    if (options.paused !== undefined && typeof options.paused !== 'boolean') throw invalidArgument('paused', 'must be true or false');
    if (options.paused === true && options.state !== undefined) {
      throw invalidArgument('paused', 'lists paused tasks whatever their state; give it without state');
    }
    // A cursor is the id a page ended with: anything else would silently give the first page.
    if (options.cursor !== undefined && (typeof options.cursor !== 'string' || !TASK_ID_PATTERN.test(options.cursor))) {
      throw invalidArgument('cursor', 'must be the cursor a previous page returned');
    }
    if (typeof options.type === 'string') wellFormed(options.type, 'type');
    checkTypeFilter(options.type, this.knownType);
    const ids = await this.#reader.listIds({
      limit,
      ...(options.state !== undefined ? { state: options.state } : {}),
      ...(options.type !== undefined ? { type: options.type } : {}),
      ...(options.cursor !== undefined ? { cursor: options.cursor } : {}),
      ...(options.paused === true ? { paused: true } : {}),
    });
    const page = this.#pager();
    await page.collect(ids, limit);
    return { tasks: page.views, cursor: page.full ? page.lastId : ids.length === limit ? ids[ids.length - 1]! : null };
  }

  /** Queued, unpaused tasks in due order (as the store's indexes give it), `limit` at most (fewer past maxReplyBytes). */
  async pending(options: { type?: string; limit?: number } = {}): Promise<TaskView[]> {
    const limit = options.limit === undefined ? 100 : parseInteger(options.limit, 'limit', 1, LIST_MAX);
    if (typeof options.type === 'string') wellFormed(options.type, 'type');
    checkTypeFilter(options.type, this.knownType);
    const page = this.#pager();
    const accept = options.type === undefined ? undefined : (v: TaskView): boolean => v.type === options.type;
    let after = null;
    while (page.views.length < limit && !page.full) {
      const due = await this.#reader.dueAfter(after, Math.min(LIST_MAX, limit * 2));
      if (due.length === 0) break;
      await page.collect(due.map((e) => e.id), limit, accept);
      after = due[due.length - 1]!;
    }
    return page.views;
  }

  /** Runs in order, those after run number `after`, ending early before maxReplyBytes (ask again after the last). */
  async runs(id: string, after = 0): Promise<RunView[]> {
    const from = parseInteger(after, 'after', 0, Number.MAX_SAFE_INTEGER);
    const rec = await this.#read(id);
    if (rec === undefined) throw taskNotFound(id);
    const runs = await this.#reader.runs(rec);
    return firstThatFit(runs.filter((r) => r.run > from).sort((a, b) => a.run - b.run).map(runView), this.#maxReplyBytes);
  }

  /** Transitions in order, skipping the first `after`, ending early before maxReplyBytes (ask again with the count seen). */
  async history(id: string, after = 0): Promise<HistoryView[]> {
    const skip = parseInteger(after, 'after', 0, Number.MAX_SAFE_INTEGER);
    const rec = await this.#read(id);
    if (rec === undefined) throw taskNotFound(id);
    const entries = await this.#reader.history(rec);
    return firstThatFit(entries.slice(skip).map(historyView), this.#maxReplyBytes);
  }

  /** `{ states, types }` for stats, with every state present in `states`. */
  counts(): { states: Record<TaskState, number>; types: Record<string, StateCounts> } {
    const states = Object.fromEntries(TASK_STATES.filter((s) => s !== 'none').map((s) => [s, 0])) as Record<TaskState, number>;
    const types: Record<string, StateCounts> = {};
    for (const [type, c] of this.#reader.counts()) {
      const row: StateCounts = {};
      for (const s of TASK_STATES) {
        const n = c[s] ?? 0;
        if (n === 0) continue;
        row[s] = n;
        states[s] += n;
      }
      types[type] = row;
    }
    return { states, types };
  }

  /** Pages are cut at maxReplyBytes; a task changed but not yet written reads as changed. */
  #pager(): ViewPager {
    return new ViewPager(this.#maxReplyBytes, async (ids) => {
      const recs = await this.#reader.getMany(ids);
      return recs.map((rec) => (rec === undefined ? undefined : taskView(rec)));
    });
  }

  #read(id: string): Promise<TaskRecord | undefined> {
    return this.#reader.get(id);
  }
}
