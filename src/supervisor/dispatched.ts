import type { Executor, RunListener, RunOutcome, RunRequest } from '../executor/executor.js';
import type { RunRecord, TaskRecord } from '../task/record.js';
import type { TaskType } from '../task/registry.js';

/** What a run's listener reports to the dispatcher: one set of callbacks shared by every run. */
export interface RunHooks {
  progress(rec: TaskRecord, run: number, progress: number): void;
  outcome(taskId: string, run: number, outcome: RunOutcome): void;
  interrupted(taskId: string, run: number): void;
  released(d: Dispatched): void;
}

/**
 * A run claimed, held until its due time or handed to an executor, until its worker is free
 * again; it is also the run's listener, and the request the executor is given. A class rather
 * than closures per run, and one object rather than three: a 256-run worker takes tens of
 * thousands of runs a second, and each run's closures and copies were garbage to collect.
 */
export class Dispatched implements RunListener, RunRequest {
  /** Aborted because the source could no longer vouch for the claim: its end is a lost try, not a failure. */
  leaseLost = false;
  /** How long the run's handler took, once its outcome is in (the slot's measure). */
  ranMs: number | null = null;

  readonly run: number;
  // The request (RunRequest): what the executor reads of the run.
  readonly taskId: string;
  readonly type: string;
  readonly modulePath: string;
  readonly params: unknown;
  readonly attempt: number;
  readonly timeoutMs: number;
  /** Set when the run is sent ahead of its due time (see RunRequest.startAt). */
  startAt: number | undefined = undefined;

  constructor(
    readonly hooks: RunHooks,
    readonly rec: TaskRecord,
    runRecord: RunRecord,
    type: TaskType,
    readonly executor: Executor,
    readonly runId: string,
  ) {
    this.run = runRecord.run;
    this.taskId = rec.id;
    this.type = type.name;
    this.modulePath = type.file;
    this.params = rec.params;
    this.attempt = runRecord.attempt;
    this.timeoutMs = rec.timeoutMs;
  }

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
