import type { SpindleEvent } from '../../api/events.js';
import type { SourceSignals, WriteContext } from '../task-source.js';
import type { CommitQueue } from './commit-queue.js';
import type { DueDispatch } from './due-dispatch.js';
import type { LiveTask } from './live-task.js';

/**
 * A decision's write context: one object per decision with its methods on the prototype, where
 * an object literal made two closures per decision (two decisions per task on the hot path).
 */
export class DecisionContext implements WriteContext {
  readonly now: number;
  readonly announcing: boolean;
  readonly #commit: CommitQueue;
  readonly #due: DueDispatch;
  readonly #task: LiveTask;
  readonly #announce: (event: SpindleEvent) => void;

  constructor(now: number, announcing: boolean, commit: CommitQueue, due: DueDispatch, task: LiveTask, announce: (event: SpindleEvent) => void) {
    this.now = now;
    this.announcing = announcing;
    this.#commit = commit;
    this.#due = due;
    this.#task = task;
    this.#announce = announce;
  }

  afterWrite(fn: () => void): void {
    this.#commit.onCommit(fn);
  }

  retrying(delayMs: number): void {
    this.#due.retrying(this.#task, delayMs);
  }

  announce(event: SpindleEvent): void {
    this.#announce(event);
  }
}

/**
 * A submit's context, one for all the tasks it creates: their announcements and after-write work
 * wait, in order, until the tasks are stored (a refused submit runs none of it).
 */
export class SubmitContext implements WriteContext {
  readonly now: number;
  readonly announcing: boolean;
  readonly afterWrites: Array<() => void> = [];
  readonly #signals: SourceSignals | null;

  constructor(now: number, signals: SourceSignals | null) {
    this.now = now;
    this.announcing = signals?.listening() ?? false;
    this.#signals = signals;
  }

  afterWrite(fn: () => void): void {
    this.afterWrites.push(fn);
  }

  retrying(): void {
    // A new task has no run to retry.
  }

  announce(event: SpindleEvent): void {
    const signals = this.#signals;
    this.afterWrites.push(() => signals?.emit(event));
  }
}
