import type { Executor, RunListener, RunOutcome } from '../executor/executor.js';
import type { TaskRecord } from '../task/record.js';

/** What a run's listener reports to the dispatcher: one set of callbacks shared by every run. */
export interface RunHooks {
  progress(rec: TaskRecord, run: number, progress: number): void;
  outcome(taskId: string, run: number, outcome: RunOutcome): void;
  interrupted(taskId: string, run: number): void;
  released(d: Dispatched): void;
}

/**
 * A run claimed, held until its due time or handed to an executor, until its worker is free
 * again; it is also the run's listener. A class rather than closures per run: a 256-run worker
 * takes tens of thousands of runs a second, and each run's closures were garbage to collect.
 */
export class Dispatched implements RunListener {
  /** Aborted because the source could no longer vouch for the claim: its end is a lost try, not a failure. */
  leaseLost = false;
  /** How long the run's handler took, once its outcome is in (the slot's measure). */
  ranMs: number | null = null;

  constructor(
    readonly hooks: RunHooks,
    readonly rec: TaskRecord,
    readonly run: number,
    readonly executor: Executor,
    readonly runId: string,
  ) {}

  onProgress(progress: number): void {
    this.hooks.progress(this.rec, this.run, progress);
  }

  onOutcome(outcome: RunOutcome): void {
    this.ranMs = outcome.durationMs;
    this.hooks.outcome(this.rec.id, this.run, outcome);
  }

  onInterrupted(): void {
    this.hooks.interrupted(this.rec.id, this.run);
  }

  onReleased(): void {
    this.hooks.released(this);
  }
}
