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

  readonly #make = (r: ResolvedSubmit, schedule: CompiledSchedule, w: WriteContext): TaskRecord => this.#create(r, schedule, w);

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
        return new Submission(this.#make, r, compileSchedule(r.schedule, now), now, indexed ? i : null);
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

/**
 * One entry of a submit, as the source asks for it: an object with methods rather than two
 * closures per entry (a submitMany makes a thousand).
 */
class Submission implements NewTask {
  readonly type: string;
  readonly key: string | null;

  constructor(
    private readonly make: (r: ResolvedSubmit, schedule: CompiledSchedule, w: WriteContext) => TaskRecord,
    private readonly r: ResolvedSubmit,
    private readonly schedule: CompiledSchedule,
    /** The local clock the schedule was compiled against. */
    private readonly now: number,
    /** Its place in a submitMany, named in its errors; null for a single submit. */
    private readonly index: number | null,
  ) {
    this.type = r.type.name;
    this.key = r.key;
  }

  /**
   * The write's clock is the store's (a shared store's database time): a schedule read against a
   * local clock more than a second off is read again against it.
   */
  create(w: WriteContext): TaskRecord {
    return this.make(this.r, Math.abs(w.now - this.now) > CLOCK_SKEW_MS ? compileSchedule(this.r.schedule, w.now) : this.schedule, w);
  }

  conflict(holder: TaskRecord): Error | null {
    if (stableJson(holder.params) === stableJson(this.r.params ?? null) && holder.type === this.type) return null;
    const err = keyConflict(this.key!, holder);
    return this.index === null ? err : atIndex(err, this.index);
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
