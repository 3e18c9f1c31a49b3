import type { CompiledSchedule } from '../schedule/index.js';
import { restoreSchedule } from '../schedule/index.js';
import type { TaskRecord } from '../task/record.js';
import type { ScheduleState } from './occurrence.js';

/** Compiled schedules held at most: past it the cache starts over (a schedule compiles again on use). */
const MAX_HELD = 10_000;

/**
 * Compiled schedules of recurring tasks by task id, so a run's end does not parse its cron or
 * RRULE again. Bounded: a million recurring tasks cost at most MAX_HELD compiled triggers.
 */
export class ScheduleCache {
  readonly #held = new Map<string, ScheduleState>();

  /** A task just submitted: its schedule is already compiled. */
  set(id: string, schedule: CompiledSchedule): void {
    this.#keep(id, { trigger: schedule.trigger, adaptive: schedule.adaptive });
  }

  of(rec: TaskRecord): ScheduleState {
    let schedule = this.#held.get(rec.id);
    if (schedule === undefined) {
      const { trigger, adaptive } = restoreSchedule(rec.schedule);
      schedule = { trigger, adaptive };
      this.#keep(rec.id, schedule);
    }
    return schedule;
  }

  /** The task ended: it fires no more. */
  delete(id: string): void {
    // Every task's end comes here; with no recurring task held, no lookup of its id.
    if (this.#held.size > 0) this.#held.delete(id);
  }

  #keep(id: string, schedule: ScheduleState): void {
    if (this.#held.size >= MAX_HELD) this.#held.clear();
    this.#held.set(id, schedule);
  }
}
