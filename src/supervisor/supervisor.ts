import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { SpindleError, taskNotFound } from '../errors.js';
import type { Executor } from '../executor/executor.js';
import type { Decide, TaskSource, WriteContext } from '../store/task-source.js';
import type { RunRecord, TaskRecord } from '../task/record.js';
import type { Registry, TaskType } from '../task/registry.js';
import type { TaskEventType } from '../task/state.js';
import { TERMINAL_STATES } from '../task/state.js';
import { announceRunEnd, Dispatcher } from './dispatcher.js';
import type { EventFilter, EventListener } from '../api/events.js';
import type { ListOptions, PurgeFilter, PurgePreview, PurgeResult, Stats } from '../api/runtime-api.js';
import type { HistoryView, RunView, SubmittedView, TaskView } from '../api/views.js';
import { EventBus } from './events.js';
import { nextOccurrence } from './occurrence.js';
import { Operations } from './operations.js';
import type { SupervisorObserver } from './observer.js';
import { Queries } from './queries.js';
import { checkEventFilter } from './read-limits.js';
import { Retention } from './retention.js';
import { runEndLog } from './run-log.js';
import { ScheduleCache } from './schedules.js';
import { Submissions } from './submissions.js';
import { taskView } from './task-view.js';
import { Transitions } from './transitions.js';

export interface SupervisorOptions {
  /** Where tasks live: the supervisor decides, the source applies decisions durably. */
  source: TaskSource;
  registry: Registry;
  /** The executor a type's runs go to (its isolation, or the runtime's mode). */
  executorFor(type: TaskType): Executor;
  /** Every executor, the default first (for stats and shutdown). */
  executors: readonly Executor[];
  clock: Clock;
  log: Logger;
  /** How long terminal tasks are kept; null keeps them forever. A type may set its own. */
  retentionMs: number | null;
  /** How long an ended task keeps its idempotency key (a submit may set its own); 0 frees it at once. */
  keyRetentionMs: number;
  sweepIntervalMs: number;
  sweepBatch: number;
  maxParamsBytes: number;
  /** Largest handler output stored, in bytes of JSON: past it the run fails with OUTPUT_TOO_LARGE. */
  maxOutputBytes: number;
  /** A list or pending page ends early once its JSON would pass this many bytes. */
  maxReplyBytes: number;
  random: () => number;
  /** Told of run starts, run ends and misfires, in numbers (for metrics); none by default. */
  observer?: SupervisorObserver | undefined;
}

/**
 * Owns every task's lifecycle: decides each transition (through Transitions, the table derived
 * from the XState machine) and hands the decision to the task source, which writes it before
 * anything acts on it. This file wires the parts and holds start, stop and control; submits,
 * reads, dispatch and retention each have their own module.
 */
export class Supervisor {
  readonly #o: SupervisorOptions;
  readonly #bus: EventBus;
  readonly #schedules = new ScheduleCache();
  readonly #transitions: Transitions;
  readonly #submissions: Submissions;
  readonly #queries: Queries;
  readonly #dispatcher: Dispatcher;
  readonly #retention: Retention;
  readonly #operations: Operations;
  readonly #startedAt: number;
  #stopping = false;

  constructor(options: SupervisorOptions) {
    this.#o = options;
    const { source, registry, clock, log } = options;
    this.#startedAt = clock.monotonic();
    this.#bus = new EventBus((err) => log.error({ err }, 'event listener threw'), (active) => source.listeners?.(active));
    this.#transitions = new Transitions({
      registry, retentionMs: options.retentionMs, keyRetentionMs: options.keyRetentionMs, random: options.random,
      ended: (rec) => this.#schedules.delete(rec.id),
    });
    this.#submissions = new Submissions({
      source, registry, transitions: this.#transitions, schedules: this.#schedules, maxParamsBytes: options.maxParamsBytes,
      now: () => clock.now(),
    });
    this.#queries = new Queries(source.reader, registry, options.maxReplyBytes);
    this.#dispatcher = new Dispatcher({
      source, registry, executorFor: options.executorFor, transitions: this.#transitions, schedules: this.#schedules,
      bus: this.#bus, clock, log, maxOutputBytes: options.maxOutputBytes, observer: options.observer,
    });
    this.#retention = new Retention({ source, clock, log, intervalMs: options.sweepIntervalMs, batch: options.sweepBatch });
    this.#operations = new Operations({
      source, registry, schedules: this.#schedules, now: () => clock.now(), assertOpen: () => this.#assertOpen(), wake: () => this.#dispatcher.pump(),
    });
  }

  // ── start and stop ─────────────────────────────────────────────────────────────────────────

  /** Recovers what a crash or stop left (SPEC §3), then starts dispatching. */
  async start(): Promise<void> {
    const t = this.#transitions;
    await this.#o.source.start({
      types: new Set(this.#o.registry.types.keys()),
      abandoned: (rec, w) => this.#loseAbandonedRun(rec, w),
      place: (rec, w) => void t.change(rec, 'PLACE', w),
      orphaned: (rec, w) => void t.change(rec, 'REJECT', w),
    }, {
      wake: () => this.#dispatcher.pump(),
      abort: (taskId, run, reason) => this.#dispatcher.abort(taskId, run, reason),
      listening: () => this.#bus.active,
      emit: (event) => this.#bus.emit(event),
      watchedTasks: () => this.#bus.watchedTasks(),
    });
    this.#dispatcher.pump();
    this.#retention.start();
  }

  /**
   * Graceful stop (SPEC §5): refuse new work, abort running handlers, wait up to `graceMs`, kill
   * the rest. Runs whose handler settled on the signal go back to the queue with their try given
   * back (INTERRUPT); runs killed stay `running` in the store and count as lost tries at next start.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#dispatcher.stopping();
    this.#retention.stop();
    // Runs already started in a written batch must reach the pool before it closes.
    await this.#o.source.flushed();
    const failures: unknown[] = [];
    await Promise.all(this.#o.executors.map((e) => e.close(graceMs).catch((err: unknown) => failures.push(err))));
    await this.#o.source.close();
    if (failures.length > 0) this.#o.log.error({ failures }, 'executors did not close cleanly');
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  // ── submit ─────────────────────────────────────────────────────────────────────────────────

  async submit(input: unknown): Promise<SubmittedView> {
    this.#assertOpen();
    const [view] = await this.#submissions.submit([input], { indexed: false });
    return view!;
  }

  /** Submits all or none: every task is validated first and all are written in one batch. */
  submitMany(inputs: readonly unknown[]): Promise<SubmittedView[]> {
    this.#assertOpen();
    return this.#submissions.submit(inputs, { indexed: true });
  }

  // ── control ────────────────────────────────────────────────────────────────────────────────

  cancel(id: string): Promise<TaskView> {
    return this.#control(id, 'CANCEL', (rec, w) => this.#endCancelledRun(rec, w));
  }

  pause(id: string): Promise<TaskView> {
    return this.#control(id, 'PAUSE');
  }

  resume(id: string): Promise<TaskView> {
    return this.#control(id, 'RESUME');
  }

  runNow(id: string): Promise<TaskView> {
    return this.#control(id, 'RUN_NOW');
  }

  /** A failed or terminated task queued again with fresh tries, due now; its runs and history stay. */
  retry(id: string): Promise<TaskView> {
    return this.#control(id, 'RETRY', (r, w) => {
      // Past its retention the sweep may be deleting it this moment: it is gone.
      if (r.expiresAt !== null && r.expiresAt <= w.now) throw taskNotFound(r.id);
      if (TERMINAL_STATES.has(r.state) && !this.#o.registry.types.has(r.type)) {
        throw new SpindleError('UNKNOWN_TYPE', `task type ${r.type} has no module in this runtime; the task cannot run again`, { field: 'type', taskId: r.id });
      }
    });
  }

  // ── operations ─────────────────────────────────────────────────────────────────────────────

  delete(id: string): Promise<{ id: string; deleted: true }> {
    return this.#operations.delete(id);
  }

  purge(request: PurgeFilter & { confirm?: string }): Promise<PurgePreview | PurgeResult> {
    return this.#operations.purge(request);
  }

  reschedule(id: string, schedule: unknown): Promise<TaskView> {
    return this.#operations.reschedule(id, schedule);
  }

  /** Resolves with the type's name once the pause is stored. */
  setTypePaused(type: string, paused: boolean): Promise<string> {
    return this.#operations.setTypePaused(type, paused);
  }

  pausedTypes(): ReadonlySet<string> {
    return this.#o.source.pausedTypes();
  }

  async #control(id: string, event: TaskEventType, before?: Decide): Promise<TaskView> {
    this.#assertOpen();
    const rec = await this.#o.source.update(id, (r, w) => {
      this.#assertOpen();
      const { state, paused, lastRun } = r;
      before?.(r, w);
      if (this.#transitions.change(r, event, w) === null) {
        r.lastRun = lastRun;
        throw new SpindleError('INVALID_STATE', invalidStateMessage(event, state, paused), { state, paused, taskId: r.id });
      }
    });
    return taskView(rec);
  }

  /** Ends the run record of a cancelled run; the source stops its worker once the cancel is written. */
  #endCancelledRun(rec: TaskRecord, w: WriteContext): void {
    const run = rec.lastRun;
    if (run === null || run.state !== 'running' || rec.state !== 'running') return;
    const now = w.now;
    const ended: RunRecord = { ...run, state: 'cancelled', endedAt: now, durationMs: now - run.startedAt, error: { code: 'CANCELLED', message: 'cancelled by a client' } };
    rec.lastRun = ended;
    announceRunEnd({ observer: this.#o.observer }, rec, ended, w);
  }

  /** A run left `running` by a crash or a stop is a lost try (SPEC §3). */
  #loseAbandonedRun(rec: TaskRecord, w: WriteContext): void {
    const run = rec.lastRun;
    if (run !== null && run.state === 'running') {
      rec.lastRun = {
        ...run, state: 'lost', endedAt: w.now, durationMs: null,
        error: { code: 'WORKER_EXITED', message: 'the runtime stopped while this run was in flight; the try counts as lost' },
      };
    }
    const next = rec.recurring ? nextOccurrence(rec, this.#schedules.of(rec), w.now) : null;
    const res = this.#transitions.change(rec, 'LOSE', w, { hasNext: next !== null, nextDue: next === null ? null : next.due });
    const logLine = res === null || rec.lastRun === run || rec.lastRun === null ? undefined : runEndLog(this.#o.log, rec, rec.lastRun, res);
    if (logLine !== undefined) w.afterWrite(logLine);
  }

  // ── reads ──────────────────────────────────────────────────────────────────────────────────

  get(id: string): Promise<TaskView> {
    return this.#queries.get(id);
  }

  list(options: ListOptions = {}): Promise<{ tasks: TaskView[]; cursor: string | null }> {
    return this.#queries.list(options);
  }

  pending(options: { type?: string; limit?: number } = {}): Promise<TaskView[]> {
    return this.#queries.pending(options);
  }

  runs(id: string, after = 0): Promise<RunView[]> {
    return this.#queries.runs(id, after);
  }

  history(id: string, after = 0): Promise<HistoryView[]> {
    return this.#queries.history(id, after);
  }

  stats(): Stats {
    const pools = this.#o.executors.map((e) => ({ mode: e.mode, size: e.capacity, busy: e.busy() }));
    return {
      ...this.#queries.counts(),
      workers: pools[0]!,
      pools,
      window: this.#o.source.reader.window(),
      pausedTypes: [...this.#o.source.pausedTypes()].sort(),
      swept: this.#retention.swept + this.#o.source.removedAtEnd,
      uptimeMs: Math.round(this.#o.clock.monotonic() - this.#startedAt),
    };
  }

  subscribe(filter: EventFilter, listener: EventListener): () => void {
    checkEventFilter(filter, this.#queries.knownType);
    return this.#bus.subscribe(filter, listener);
  }

  #assertOpen(): void {
    if (this.#stopping) throw new SpindleError('SHUTTING_DOWN', 'the runtime is shutting down; retry once it is back');
  }
}

function invalidStateMessage(event: TaskEventType, state: string, paused: boolean): string {
  if (event === 'PAUSE' && paused) return 'the task is already paused';
  if (event === 'RESUME' && !paused) return 'the task is not paused';
  if (event === 'RUN_NOW' && paused) return 'the task is paused; resume it first';
  if (event === 'RETRY' && state === 'finished') return 'cannot retry a task that finished; submit it anew';
  if (event === 'RETRY') return `cannot retry a task that is ${state}: only failed and terminated tasks are retried`;
  return `cannot ${event.toLowerCase().replace('_', '-')} a task that is ${state}`;
}
