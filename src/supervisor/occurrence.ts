import { adaptInterval, type AdaptiveInterval } from '../schedule/index.js';
import type { Trigger } from '../schedule/trigger.js';
import type { TaskRecord } from '../task/record.js';

/** What the supervisor keeps of a recurring task's compiled schedule while the task is in memory. */
export interface ScheduleState {
  trigger: Trigger;
  adaptive: AdaptiveInterval | null;
}

/**
 * When a recurring task's next occurrence is due, after the current one ended at `now`.
 *
 * Fire times that passed before the occurrence's run started (downtime, a busy pool, a pause) are
 * misfires and follow the task's policy; fire times that passed while it ran are overlap (SPEC §4):
 * - coalesce: the run that just ended stood for the misfires; overlap gives one run now;
 * - skip: fire times more than graceMs behind `now` are dropped;
 * - all: every fire time runs, in order, one after another (never two at once).
 */
export function nextOccurrence(rec: TaskRecord, schedule: ScheduleState, now: number): { due: number } | null {
  const trigger = effectiveTrigger(rec, schedule);
  const base = rec.firedAt ?? rec.nextRunAt ?? now;
  const next = trigger.next(base);
  if (next === null || next > now) return next === null ? null : { due: next };
  switch (rec.misfire) {
    case 'all':
      return { due: next };
    case 'skip': {
      const kept = trigger.next(Math.max(base, now - rec.graceMs - 1));
      return kept === null ? null : { due: kept };
    }
    case 'coalesce': {
      const startedAt = rec.lastRun?.startedAt ?? base;
      const afterStart = trigger.next(Math.max(base, startedAt));
      if (afterStart === null) return null;
      return { due: Math.max(afterStart, now) };
    }
  }
}

/**
 * A `skip` task's due time that is already more than graceMs behind `now` (it waited out a
 * downtime, a pause or a busy pool): the first fire time still within grace, or null when none is
 * left. Undefined when the due time stands.
 */
export function skippedTo(rec: TaskRecord, schedule: ScheduleState, now: number): { due: number | null } | undefined {
  const due = rec.nextRunAt;
  if (rec.misfire !== 'skip' || !rec.recurring || rec.tries !== 0 || due === null || due >= now - rec.graceMs) return undefined;
  return { due: effectiveTrigger(rec, schedule).next(Math.max(due, now - rec.graceMs - 1)) };
}

/**
 * An adaptive `every` fires one current interval after the previous fire time, within the
 * schedule's end and count; any other schedule fires as its trigger says.
 */
function effectiveTrigger(rec: TaskRecord, schedule: ScheduleState): Trigger {
  const { adaptive } = schedule;
  if (adaptive === null) return schedule.trigger;
  const interval = rec.interval ?? adaptive.every;
  const spec = rec.schedule as { end?: string; count?: number };
  const end = spec.end === undefined ? Infinity : Date.parse(spec.end);
  const occurrences = rec.occurrences;
  return {
    next(after: number): number | null {
      if (spec.count !== undefined && occurrences >= spec.count) return null;
      // Steps from the previous fire time, so a far `after` lands on the first step past it.
      const from = rec.firedAt ?? after;
      const steps = after < from ? 1 : Math.floor((after - from) / interval) + 1;
      const t = from + steps * interval;
      return t <= end ? t : null;
    },
  };
}

/** The interval after a run that returned `output` (JSON text): `{ eventful }` moves it, else it stays. */
export function nextInterval(rec: TaskRecord, adaptive: AdaptiveInterval, output: string | null): number {
  const current = rec.interval ?? adaptive.every;
  if (output === null || !output.includes('eventful')) return current;
  const value = JSON.parse(output) as unknown;
  const eventful = typeof value === 'object' && value !== null ? (value as { eventful?: unknown }).eventful : undefined;
  return typeof eventful === 'boolean' ? adaptInterval(current, eventful, adaptive) : current;
}

/**
 * Gives back the try of a run a graceful stop interrupted (the machine's `refundTry`): `tries` − 1
 * and due again at once. When that was the occurrence's first try, the occurrence was not
 * consumed either: `occurrences` − 1, and it is due again at its own fire time (which #start
 * records again), so a recurring task's `count` and its next fire times are what they would have
 * been had the run never started.
 */
export function giveBackTry(rec: TaskRecord, now: number): void {
  rec.tries = Math.max(0, rec.tries - 1);
  rec.nextRunAt = now;
  if (rec.tries > 0) return;
  rec.occurrences = Math.max(0, rec.occurrences - 1);
  rec.nextRunAt = rec.firedAt ?? now;
  rec.firedAt = null;
}
