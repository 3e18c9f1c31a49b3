/**
 * Numbers for metrics, handed over where the supervisor already has them: plain strings and
 * numbers only, so an observer costs a few calls per run and never builds an event object, an
 * ISO string or JSON (the event bus does that, for subscribers who want whole events).
 * Calls are synchronous, on the supervisor's thread: an observer must be cheap and must not throw.
 */
export interface SupervisorObserver {
  /**
   * A run started at `startedAt` (ms since the epoch) for a task due at `dueAt` (a fire time, a
   * retry's time or a run-now). `occurrence` is true for the first try of an occurrence (a one-shot
   * task's first run counts), false for a retry.
   */
  runStarted(type: string, dueAt: number, startedAt: number, occurrence: boolean): void;
  /** A run ended: `outcome` is its run state (finished, failed, timeout, lost, cancelled); `durationMs` null when unknown. */
  runEnded(type: string, outcome: string, durationMs: number | null): void;
  /** A recurring task's fire time came due more than its graceMs ago: `policy` (coalesce, skip, all) decides what happens. */
  misfire(type: string, policy: string): void;
}
