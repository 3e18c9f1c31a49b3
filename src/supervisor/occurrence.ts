import type { Trigger } from '../schedule/trigger.js';
import type { TaskRecord } from '../task/record.js';

/**
 * When a recurring task's next occurrence is due, after the current one ended at `now`.
 * Fire times that passed meanwhile (a long run, downtime) follow the task's misfire policy:
 * - coalesce: one run now stands for all of them;
 * - skip: those more than graceMs behind are dropped;
 * - all: each runs, in order.
 * A fire time that passed during the previous occurrence never overlaps it: it runs after it.
 */
export function nextOccurrence(rec: TaskRecord, trigger: Trigger, now: number): { due: number } | null {
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
    case 'coalesce':
      return { due: now };
  }
}
