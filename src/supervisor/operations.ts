import { randomBytes } from 'node:crypto';
import type { PurgeFilter, PurgePreview, PurgeResult } from '../api/runtime-api.js';
import type { TaskView } from '../api/views.js';
import { invalidArgument, SpindleError, taskNotFound } from '../errors.js';
import { compileSchedule } from '../schedule/index.js';
import type { TaskSource } from '../store/task-source.js';
import type { TaskRecord } from '../task/record.js';
import type { Registry } from '../task/registry.js';
import { lookupType } from '../task/registry.js';
import { TERMINAL_STATES } from '../task/state.js';
import { TASK_ID_PATTERN } from '../task/task-id.js';
import type { ScheduleCache } from './schedules.js';
import { taskView } from './task-view.js';

export interface OperationsOptions {
  source: TaskSource;
  registry: Registry;
  schedules: ScheduleCache;
  now(): number;
  /** Refuses once the runtime is stopping. */
  assertOpen(): void;
  /** Due times may have changed for a whole type: claim again. */
  wake(): void;
}

const PURGE_STATES: readonly PurgeFilter['state'][] = ['finished', 'failed', 'terminated'];
/** How long a purge confirmation stays good, and how many may wait at once (the oldest goes first). */
const CONFIRM_TTL_MS = 60_000;
const MAX_PENDING = 64;
/** Ids read, then deleted concurrently (one group commit), per step of a purge. */
const PURGE_PAGE = 500;

interface PendingPurge {
  filter: PurgeFilter;
  count: number;
  expiresAt: number;
}

/**
 * The operator's everyday operations beyond a task's lifecycle events: deleting ended tasks (one,
 * or a filter's worth after a count and a confirmation), changing a recurring task's schedule,
 * pausing a whole type. Every change goes through the task source, like the lifecycle's.
 */
export class Operations {
  readonly #o: OperationsOptions;
  readonly #pending = new Map<string, PendingPurge>();

  constructor(options: OperationsOptions) {
    this.#o = options;
  }

  async delete(id: string): Promise<{ id: string; deleted: true }> {
    this.#o.assertOpen();
    await this.#o.source.delete(id, (rec, now) => deletable(rec, now));
    return { id, deleted: true };
  }

  /** Counts first (from the counters, or the state index when `before` is given); deletes only with the confirmation. */
  async purge(request: PurgeFilter & { confirm?: string }): Promise<PurgePreview | PurgeResult> {
    this.#o.assertOpen();
    const filter = this.#filter(request);
    const now = this.#o.now();
    for (const [token, p] of this.#pending) if (p.expiresAt <= now) this.#pending.delete(token);
    if (request.confirm === undefined) {
      const count = await this.#count(filter);
      const confirm = randomBytes(18).toString('base64url');
      if (this.#pending.size >= MAX_PENDING) this.#pending.delete(this.#pending.keys().next().value!);
      this.#pending.set(confirm, { filter, count, expiresAt: now + CONFIRM_TTL_MS });
      return { filter, count, confirm, expiresAt: new Date(now + CONFIRM_TTL_MS).toISOString() };
    }
    const p = typeof request.confirm === 'string' ? this.#pending.get(request.confirm) : undefined;
    if (p === undefined || !sameFilter(p.filter, filter)) {
      throw new SpindleError('CONFIRMATION_INVALID', 'this confirmation is unknown, used, expired or for another filter; ask again without confirm for a new count and confirmation', { field: 'confirm' });
    }
    this.#pending.delete(request.confirm);
    return this.#purge(filter, p.count);
  }

  async #purge(filter: PurgeFilter, limit: number): Promise<PurgeResult> {
    const result: PurgeResult = { filter, deleted: 0, skipped: 0 };
    let cursor = filter.before === undefined ? undefined : idBefore(Date.parse(filter.before));
    while (result.deleted + result.skipped < limit) {
      const ids = await this.#o.source.reader.listIds({
        state: filter.state, limit: Math.min(PURGE_PAGE, limit - result.deleted - result.skipped),
        ...(filter.type !== undefined ? { type: filter.type } : {}), ...(cursor !== undefined ? { cursor } : {}),
      });
      if (ids.length === 0) break;
      cursor = ids[ids.length - 1]!;
      const settled = await Promise.allSettled(ids.map((id) => this.#o.source.delete(id, (rec, now) => {
        if (rec.state !== filter.state) throw new SpindleError('INVALID_STATE', `task ${rec.id} is ${rec.state} now`, { taskId: rec.id });
        deletable(rec, now);
      })));
      for (const s of settled) {
        if (s.status === 'fulfilled') result.deleted++;
        else if (s.reason instanceof SpindleError && (s.reason.code === 'INVALID_STATE' || s.reason.code === 'NOT_FOUND')) result.skipped++;
        // The store failing or the runtime stopping: the rest would fail the same way.
        else throw s.reason;
      }
    }
    return result;
  }

  async #count(filter: PurgeFilter): Promise<number> {
    const reader = this.#o.source.reader;
    if (filter.before === undefined) {
      let n = 0;
      for (const [type, counts] of reader.counts()) if (filter.type === undefined || type === filter.type) n += counts[filter.state] ?? 0;
      return n;
    }
    // Ids sort by submit time, so "submitted before" is a range of the state index: its keys are counted, no record is read.
    let n = 0;
    let cursor = idBefore(Date.parse(filter.before));
    for (;;) {
      const ids = await reader.listIds({ state: filter.state, limit: 1000, cursor, ...(filter.type !== undefined ? { type: filter.type } : {}) });
      n += ids.length;
      if (ids.length < 1000) return n;
      cursor = ids[ids.length - 1]!;
    }
  }

  #filter(request: PurgeFilter & { confirm?: string }): PurgeFilter {
    const { state, type, before } = request;
    if (!(PURGE_STATES as readonly unknown[]).includes(state)) {
      throw invalidArgument('state', `purge deletes ended tasks: give one of ${PURGE_STATES.join(', ')}`);
    }
    const filter: PurgeFilter = { state };
    if (type !== undefined) {
      if (typeof type !== 'string' || !this.#knownType(type)) {
        throw new SpindleError('UNKNOWN_TYPE', `unknown task type ${JSON.stringify(type)} in type; \`spindle types\` lists the loaded ones`, { field: 'type' });
      }
      filter.type = type;
    }
    if (before !== undefined) {
      const ms = typeof before === 'string' ? Date.parse(before) : NaN;
      if (Number.isNaN(ms) || ms < 0) throw invalidArgument('before', 'must be an ISO-8601 instant such as "2026-01-01T00:00:00Z"');
      filter.before = new Date(ms).toISOString();
    }
    return filter;
  }

  #knownType(type: string): boolean {
    return this.#o.registry.types.has(type) || this.#o.source.reader.knows(type);
  }

  /** Effective from the next occurrence: a run in flight finishes, and the one after follows the new schedule. */
  async reschedule(id: string, input: unknown): Promise<TaskView> {
    this.#o.assertOpen();
    const schedule = compileSchedule(input, this.#o.now());
    if (!schedule.recurring) throw invalidArgument('schedule', 'reschedule takes a recurring schedule (every, cron, rrule or a combination); a one-shot task is cancelled and submitted anew');
    const schedules = this.#o.schedules;
    try {
      const rec = await this.#o.source.update(id, (r, w) => {
        this.#o.assertOpen();
        if (TERMINAL_STATES.has(r.state)) throw new SpindleError('INVALID_STATE', `cannot reschedule a task that is ${r.state}`, { state: r.state, taskId: r.id });
        if (!r.recurring) throw new SpindleError('INVALID_STATE', 'only a recurring task can be rescheduled; cancel a one-shot task and submit it anew', { state: r.state, taskId: r.id });
        r.schedule = schedule.spec;
        r.interval = schedule.adaptive?.every ?? null;
        // A new schedule's `count` counts from now; the occurrence in flight (or retrying) was the old one's.
        r.occurrences = 0;
        r.firedAt = null;
        // Waiting for its next occurrence: that is the new schedule's first. A retry pending keeps its time.
        if (r.state !== 'running' && r.tries === 0) r.nextRunAt = schedule.first;
        r.updatedAt = w.now;
        schedules.set(r.id, schedule);
      });
      return taskView(rec);
    } catch (err) {
      // A refused or failed write leaves the old schedule in the record: compile it again from there.
      schedules.delete(id);
      throw err;
    }
  }

  async setTypePaused(name: string, paused: boolean): Promise<string> {
    this.#o.assertOpen();
    const type = lookupType(this.#o.registry, name);
    if (this.#o.source.pausedTypes().has(type.name) === paused) {
      throw new SpindleError('INVALID_STATE', paused ? `type ${type.name} is already paused` : `type ${type.name} is not paused`, { type: type.name, paused });
    }
    await this.#o.source.setTypePaused(type.name, paused);
    if (!paused) this.#o.wake();
    return type.name;
  }
}

/** An ended task within its retention (one past it is the sweep's, and reads as gone). */
function deletable(rec: TaskRecord, now: number): void {
  if (rec.expiresAt !== null && rec.expiresAt <= now) throw taskNotFound(rec.id);
  if (!TERMINAL_STATES.has(rec.state)) {
    throw new SpindleError('INVALID_STATE', `cannot delete a task that is ${rec.state}; cancel it first`, { state: rec.state, taskId: rec.id });
  }
}

/** The smallest id of an instant: every id below it was made earlier (see task-id.ts). */
function idBefore(ms: number): string {
  const id = ms.toString(36).padStart(9, '0');
  return TASK_ID_PATTERN.test(`${id}${'0'.repeat(10)}`) ? id : 'zzzzzzzzz';
}

function sameFilter(a: PurgeFilter, b: PurgeFilter): boolean {
  return a.state === b.state && a.type === b.type && a.before === b.before;
}
