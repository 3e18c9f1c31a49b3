import { SpindleError } from '../errors.js';
import { compileSchedule, type CompiledSchedule } from '../schedule/index.js';
import type { NewTask, TaskSource, WriteContext } from '../store/task-source.js';
import type { TaskRecord } from '../task/record.js';
import { RECORD_VERSION } from '../task/record.js';
import type { Registry } from '../task/registry.js';
import { TERMINAL_STATES } from '../task/state.js';
import type { ResolvedSubmit } from '../task/submit-options.js';
import { resolveSubmitOptions } from '../task/submit-options.js';
import { TaskIdGenerator } from '../task/task-id.js';
import type { ScheduleCache } from './schedules.js';
import { stableJson } from './stable-json.js';
import type { SubmittedView } from '../api/views.js';
import { submittedView } from './task-view.js';
import type { Transitions } from './transitions.js';

/** A store clock this far from the local one moves relative schedules and first fire times. */
const CLOCK_SKEW_MS = 1000;

export interface SubmissionsOptions {
  source: TaskSource;
  registry: Registry;
  transitions: Transitions;
  schedules: ScheduleCache;
  now(): number;
  maxParamsBytes: number;
}

/**
 * Turns submits into new tasks: every entry is validated and compiled first, then the source
 * creates them all or none, deciding idempotency keys and maxQueued in the same write.
 */
export class Submissions {
  readonly #o: SubmissionsOptions;
  readonly #ids = new TaskIdGenerator();
  /** Per type with a limit, its maxQueued (the registry does not change while the runtime runs). */
  readonly #maxQueued = new Map<string, number>();

  constructor(options: SubmissionsOptions) {
    this.#o = options;
    for (const type of options.registry.types.values()) if (type.maxQueued !== null) this.#maxQueued.set(type.name, type.maxQueued);
  }

  /** `indexed`: name the failing entry (`tasks[3].params`), as a submitMany does. */
  async submit(inputs: readonly unknown[], { indexed }: { indexed: boolean }): Promise<SubmittedView[]> {
    const now = this.#o.now();
    const tasks = inputs.map((input, i): NewTask => {
      try {
        const r = resolveSubmitOptions(input, this.#o.registry, this.#o.maxParamsBytes);
        const schedule = compileSchedule(r.schedule, now);
        return {
          type: r.type.name,
          key: r.key,
          // The write's clock is the store's (a shared store's database time): a schedule read
          // against a local clock more than a second off is read again against it.
          create: (w) => this.#create(r, Math.abs(w.now - now) > CLOCK_SKEW_MS ? compileSchedule(r.schedule, w.now) : schedule, w),
          conflict: (holder) => {
            if (stableJson(holder.params) === stableJson(r.params ?? null) && holder.type === r.type.name) return null;
            const err = keyConflict(r.key!, holder);
            return indexed ? atIndex(err, i) : err;
          },
        };
      } catch (err) {
        throw indexed ? atIndex(err, i) : err;
      }
    });
    const submitted = await this.#o.source.submit({ tasks, maxQueued: this.#maxQueued });
    return submitted.map(({ rec, existing }) => submittedView(rec, existing));
  }

  #create(r: ResolvedSubmit, schedule: CompiledSchedule, w: WriteContext): TaskRecord {
    const now = w.now;
    const rec: TaskRecord = {
      v: RECORD_VERSION,
      id: this.#ids.next(now),
      type: r.type.name,
      params: r.params ?? null,
      state: 'none',
      reason: null,
      schedule: schedule.spec,
      recurring: schedule.recurring,
      priority: r.priority,
      maxTries: r.maxTries,
      timeoutMs: r.timeoutMs,
      misfire: r.misfire,
      graceMs: r.graceMs,
      tries: 0,
      runCount: 0,
      occurrences: 0,
      firedAt: null,
      interval: schedule.adaptive?.every ?? null,
      nextRunAt: null,
      paused: false,
      key: r.key,
      keyExpiresAt: null,
      keyRetentionMs: r.keyRetentionMs,
      createdAt: now,
      updatedAt: now,
      endedAt: null,
      expiresAt: null,
      lastRun: null,
      history: [],
      historyChunks: 0,
    };
    if (schedule.recurring) this.#o.schedules.set(rec.id, schedule);
    this.#o.transitions.change(rec, 'SUBMIT', w);
    // Params and schedule were checked at submit, so placing cannot fail: do it in the same write.
    this.#o.transitions.change(rec, 'PLACE', w);
    rec.nextRunAt = schedule.first;
    return rec;
  }
}

function keyConflict(key: string, holder: TaskRecord): SpindleError {
  const held = TERMINAL_STATES.has(holder.state)
    ? `task ${holder.id}, which ended ${holder.state} and keeps the key until ${new Date(holder.keyExpiresAt ?? 0).toISOString()}`
    : `live task ${holder.id}`;
  return new SpindleError('KEY_CONFLICT', `key ${JSON.stringify(key)} belongs to ${held}, with other params; use another key`, { field: 'key', taskId: holder.id });
}

/** Names the failing entry of a submitMany: `tasks[3].params`. */
function atIndex<E>(err: E, i: number): E | SpindleError {
  if (!(err instanceof SpindleError)) return err;
  const field = err.details.field === undefined ? `tasks[${i}]` : `tasks[${i}].${err.details.field}`;
  return new SpindleError(err.code, `tasks[${i}]: ${err.message}`, { ...err.details, field, index: i }, err.cause);
}
