import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Executor, RunOutcome } from '../executor/executor.js';
import type { Claim, Completion, Decide, TaskSource } from '../store/task-source.js';
import type { RunRecord, RunState, TaskRecord } from '../task/record.js';
import { RECORD_VERSION } from '../task/record.js';
import type { Registry, TaskType } from '../task/registry.js';
import type { TaskEventType } from '../task/state.js';
import type { EventBus } from './events.js';
import { HeldRuns, SEND_AHEAD_MS } from './held-runs.js';
import { nextInterval, nextOccurrence, skippedTo } from './occurrence.js';
import type { SupervisorObserver } from './observer.js';
import { Dispatched, type RunHooks } from './dispatched.js';
import { instantText } from './instant-text.js';
import { capOutcome } from './output-cap.js';
import { runEndLog } from './run-log.js';
import type { ScheduleCache } from './schedules.js';
import { DEFER_AT_MOST_MS, Slots } from './slots.js';
import type { Transitions } from './transitions.js';

export interface DispatcherOptions {
  source: TaskSource;
  registry: Registry;
  executorFor(type: TaskType): Executor;
  transitions: Transitions;
  schedules: ScheduleCache;
  bus: EventBus;
  clock: Clock;
  log: Logger;
  maxOutputBytes: number;
  observer?: SupervisorObserver | undefined;
}

/** A claimed run's start as the observer hears of it: when it was due, and whether it began an occurrence. */
interface Started {
  dueAt: number | null;
  occurrence: boolean;
}

/** A run's end waiting for its batch; `retry`: apply it again if its write fails. */
interface PendingEnd extends Completion {
  retry: boolean;
}

/** How long a completion whose write failed waits before it is applied again. */
const COMPLETE_RETRY_MS = 250;

/**
 * Runs due tasks: claims them from the source as slots free up, hands each claimed run to its
 * executor once its start is written, and gives the source each run's end (in batches) as a
 * decision of the lifecycle. The source says when to claim again (wake) and which run to stop.
 */
export class Dispatcher {
  readonly #o: DispatcherOptions;
  readonly #slots: Slots;
  readonly #running = new Map<string, Dispatched>();
  readonly #held: HeldRuns;
  #pending: PendingEnd[] = [];
  #claims = 0;
  #wokeMeanwhile = false;
  #pumpQueued = false;
  /** Claims anyway once a deferred one has waited DEFER_AT_MOST_MS (see Slots.hold). */
  #deferTimer: NodeJS.Timeout | undefined;
  #stopping = false;
  readonly #hooks: RunHooks = {
    progress: (rec, run, p) => this.#progress(rec, run, p),
    outcome: (taskId, run, outcome) => this.#outcome(taskId, run, outcome),
    interrupted: (taskId, run) => this.#interrupted(taskId, run),
    released: (d) => {
      this.#running.delete(d.runId);
      this.#slots.release(d.executor, d.rec.type, d.ranMs);
      this.#pumpSoon();
    },
  };

  constructor(options: DispatcherOptions) {
    this.#o = options;
    this.#slots = new Slots(options.registry, options.executorFor, () => options.source.pausedTypes());
    this.#held = new HeldRuns(options.clock, () => options.source.now());
  }

  /**
   * From now on failed outcomes are left to the next start (their runs stay `running`). Runs held
   * for their due time never start: their tries are given back, as the executor does for runs
   * claimed ahead that no worker took yet.
   */
  stopping(): void {
    this.#stopping = true;
    clearTimeout(this.#deferTimer);
    for (const runId of this.#held.runIds()) {
      this.#held.drop(runId);
      this.#dropped(this.#running.get(runId)!, 'shutdown');
    }
  }

  /** Claims what is due with the slots free now; `now`: also those of pools that would wait for more. */
  pump(now = false): void {
    if (this.#stopping) return;
    if (this.#claims > 0) this.#wokeMeanwhile = true;
    const hold = this.#slots.hold(now);
    // A pool waiting for more room: the runs that free it will pump again, or, at most
    // DEFER_AT_MOST_MS after it first waited, the timer.
    if (!hold.deferred) {
      clearTimeout(this.#deferTimer);
      this.#deferTimer = undefined;
    } else if (this.#deferTimer === undefined) {
      this.#deferTimer = setTimeout(() => {
        this.#deferTimer = undefined;
        this.pump(true);
      }, DEFER_AT_MOST_MS);
    }
    if (hold.deferred && hold.pools.length === 0) return;
    // What the observer is told of each start, kept only for an observer (metrics are served).
    const started = this.#o.observer === undefined ? null : new Map<string, Started>();
    const start: Decide<RunRecord | null> = (rec, w) => {
      const dueAt = rec.nextRunAt;
      const run = this.#startRun(rec, w);
      if (run === null) return null;
      started?.set(rec.id, { dueAt, occurrence: run.attempt === 1 });
      if (w.announcing) {
        w.announce({ event: 'run.started', data: { id: rec.id, type: rec.type, attempt: run.attempt, run: run.run, startedAt: instantText(run.startedAt) } });
      }
      return run;
    };
    this.#claims++;
    this.#o.source.claim({ pools: hold.pools, start }).then(
      (claims) => {
        this.#claims--;
        this.#slots.settle(hold, claims);
        const now = claims.length === 0 ? 0 : this.#held.now();
        for (const claim of claims) this.#dispatch(claim, started?.get(claim.rec.id), now);
        this.#again();
      },
      (err: unknown) => {
        this.#claims--;
        this.#slots.giveBack(hold);
        this.#o.log.error({ err }, 'claiming due tasks failed');
        this.#again();
      },
    );
  }

  /** The source asks to stop a run of ours: cancelled, or it can no longer vouch for the claim. */
  abort(taskId: string, run: number, reason: 'cancel' | 'lease'): void {
    const runId = runIdOf(taskId, run);
    const dispatched = this.#running.get(runId);
    if (dispatched === undefined) return;
    if (reason === 'lease') {
      dispatched.leaseLost = true;
      this.#o.log.warn({ taskId, run }, 'the store no longer vouches for this run; aborting it');
    }
    if (this.#held.drop(runId)) this.#dropped(dispatched, 'cancel');
    else dispatched.executor.abort(runId, 'cancel');
  }

  /** A wake that came while a claim held every slot gets its claim now. */
  #again(): void {
    if (this.#claims > 0 || !this.#wokeMeanwhile) return;
    this.#wokeMeanwhile = false;
    this.#pumpSoon();
  }

  /** One pump for a burst of releases (a worker returns many results in one message). */
  #pumpSoon(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.pump();
    });
  }

  /**
   * The claim's decision for one due task: START with a new run record, or, for a `skip` task
   * whose due time fell more than graceMs behind, move it to its first fire time within grace and
   * leave it waiting while that is ahead (null). When no fire time is left, the stale one runs as
   * the last occurrence (the machine ends a recurring task only after a run).
   */
  #startRun(rec: TaskRecord, w: Parameters<Decide>[1]): RunRecord | null {
    const now = w.now;
    if (rec.recurring && rec.tries === 0 && rec.nextRunAt !== null && now - rec.nextRunAt > rec.graceMs) this.#o.observer?.misfire(rec.type, rec.misfire);
    if (rec.recurring) {
      const skip = skippedTo(rec, this.#o.schedules.of(rec), now);
      if (skip !== undefined && skip.due !== null) {
        rec.nextRunAt = skip.due;
        if (skip.due > now) {
          rec.updatedAt = now;
          return null;
        }
      }
    }
    const newOccurrence = rec.tries === 0;
    const dueAt = rec.nextRunAt;
    if (this.#o.transitions.change(rec, 'START', w) === null) return null;
    if (newOccurrence) {
      rec.firedAt = dueAt;
      rec.occurrences++;
    }
    rec.nextRunAt = null;
    rec.runCount++;
    // Claimed ahead of its due time (the source's lead), the run starts at it, not at the write.
    const run: RunRecord = {
      v: RECORD_VERSION, taskId: rec.id, run: rec.runCount, attempt: rec.tries, state: 'running',
      startedAt: dueAt === null ? now : Math.max(now, dueAt), endedAt: null, durationMs: null, worker: null, output: null, error: null, progress: null,
    };
    rec.lastRun = run;
    return run;
  }

  /**
   * Sends a claimed run to its executor, now or, claimed ahead of its due time, SEND_AHEAD_MS
   * before its startedAt, its worker waiting the rest. `now`: the source's time when the claim landed,
   * the held runs' last reading (which their startAt is converted from).
   */
  #dispatch({ rec, run }: Claim, started: Started | undefined, now: number): void {
    const type = this.#o.registry.types.get(rec.type)!;
    const executor = this.#o.executorFor(type);
    const runId = runIdOf(rec.id, run.run);
    const dispatched = new Dispatched(this.#hooks, rec, run, type, executor, runId);
    this.#running.set(runId, dispatched);
    const wait = run.startedAt - now;
    if (wait <= SEND_AHEAD_MS) this.#send(dispatched, run, started, run.startedAt, wait > 0 ? this.#held.startAt(run.startedAt) : undefined);
    else if (this.#stopping) this.#dropped(dispatched, 'shutdown');
    else this.#held.hold(runId, run.startedAt, wait, (sentAt, startAt) => this.#send(dispatched, run, started, sentAt, startAt));
  }

  #send(d: Dispatched, run: RunRecord, started: Started | undefined, sentAt: number, startAt: number | undefined): void {
    const rec = d.rec;
    if (started !== undefined) this.#o.observer?.runStarted(rec.type, started.dueAt ?? run.startedAt, sentAt, started.occurrence);
    d.startAt = startAt;
    d.executor.run(d, d);
  }

  /**
   * A held run that will not be sent: ended as the executor ends a run aborted before a worker
   * took it (CANCELLED; a shutdown's try given back), its slot freed.
   */
  #dropped(dispatched: Dispatched, reason: 'cancel' | 'shutdown'): void {
    const { rec, run } = dispatched;
    const message = reason === 'cancel' ? 'the run was cancelled' : 'the run was stopped by a shutdown';
    this.#outcome(rec.id, run, { ok: false, error: { code: 'CANCELLED', message }, durationMs: 0, worker: 'unsent' });
    if (reason === 'shutdown') this.#interrupted(rec.id, run);
    dispatched.onReleased();
  }

  /** Progress is shown, not persisted on its own: it is written with the next change of the task. */
  #progress(rec: TaskRecord, run: number, progress: number): void {
    if (rec.lastRun?.run !== run || rec.lastRun.state !== 'running') return;
    rec.lastRun = { ...rec.lastRun, progress };
    const bus = this.#o.bus;
    if (bus.active) bus.emit({ event: 'run.progress', data: { id: rec.id, type: rec.type, attempt: rec.lastRun.attempt, run, progress } });
  }

  #outcome(taskId: string, run: number, outcome: RunOutcome): void {
    // A stopping runtime leaves failed runs `running`, so the next start counts them as lost tries.
    if (this.#stopping && !outcome.ok) return;
    if (!outcome.ok && this.#running.get(runIdOf(taskId, run))?.leaseLost === true) {
      outcome = { ...outcome, error: { code: 'WORKER_EXITED', message: 'the store could no longer vouch for this run (its lease ran out), so it was stopped; the try counts as lost' } };
    }
    const capped = capOutcome(outcome, this.#o.maxOutputBytes);
    this.#complete(taskId, run, (rec, w) => this.#ended(rec, w, capped));
  }

  /** The lifecycle's decision for a run's end. */
  #ended(rec: TaskRecord, w: Parameters<Decide>[1], outcome: RunOutcome): void {
    const now = w.now;
    const event = outcomeEvent(outcome);
    const schedules = this.#o.schedules;
    if (outcome.ok && rec.interval !== null) {
      const { adaptive } = schedules.of(rec);
      if (adaptive !== null) rec.interval = nextInterval(rec, adaptive, outcome.output ?? null);
    }
    const next = rec.recurring ? nextOccurrence(rec, schedules.of(rec), now) : null;
    const ended: RunRecord = {
      ...rec.lastRun!,
      state: runStateOf(event),
      // A run dropped while held for its due time ends no earlier than it was to start.
      endedAt: Math.max(now, rec.lastRun!.startedAt),
      durationMs: outcome.durationMs,
      worker: outcome.worker,
      output: outcome.ok ? (outcome.output ?? null) : null,
      error: outcome.ok ? null : outcome.error,
    };
    rec.lastRun = ended;
    const res = this.#o.transitions.change(rec, event, w, { hasNext: next !== null, nextDue: next === null ? null : next.due });
    if (res?.actions.includes('nextOccurrence')) rec.firedAt = null;
    announceRunEnd(this.#o, rec, ended, w);
    const logLine = res === null ? undefined : runEndLog(this.#o.log, rec, ended, res);
    if (logLine !== undefined) w.afterWrite(logLine);
  }

  /**
   * A graceful stop aborted the run and its handler settled on the signal: the run ends
   * `interrupted` and the task goes back to the queue with its try given back (INTERRUPT). Written
   * before the store closes; if that write fails the run stays `running`, a lost try at next start.
   */
  #interrupted(taskId: string, run: number): void {
    if (!this.#stopping) return;
    this.#complete(
      taskId, run, (rec, w) => {
        const before = rec.lastRun!;
        const endedAt = Math.max(w.now, before.startedAt);
        const ended: RunRecord = {
          ...before, state: 'interrupted', endedAt, durationMs: endedAt - before.startedAt,
          error: { code: 'CANCELLED', message: 'a graceful stop aborted the run and its handler returned on its signal; the try was given back' },
        };
        rec.lastRun = ended;
        const res = this.#o.transitions.change(rec, 'INTERRUPT', w);
        if (res === null) {
          rec.lastRun = before;
          return;
        }
        announceRunEnd(this.#o, rec, ended, w);
        const logLine = runEndLog(this.#o.log, rec, ended, res);
        if (logLine !== undefined) w.afterWrite(logLine);
      },
      false,
    );
  }

  /** Run ends of one turn go to the source together. `retry`: apply it again if its write fails. */
  #complete(taskId: string, run: number, decide: Decide, retry = true): void {
    if (this.#pending.length === 0) queueMicrotask(() => this.#flushCompletions());
    // The entry is the source's Completion itself (with its retry flag): no wrapper, no copy.
    this.#pending.push({ taskId, run, decide, retry });
  }

  #flushCompletions(): void {
    const pending = this.#pending;
    this.#pending = [];
    this.#o.source.complete(pending).then(
      (results) => results.forEach((r, i) => {
        const { taskId, run } = pending[i]!;
        if (r === 'lost') this.#o.log.debug({ taskId, run }, 'run outcome dropped: the task changed meanwhile (cancelled, or its claim no longer held)');
      }),
      (err: unknown) => {
        // The source undid them (the tasks are `running` again there): apply them again later,
        // unless the source is closing (they stay `running`, lost tries at the next start).
        if ((err as { code?: string }).code === 'SHUTTING_DOWN') return;
        this.#o.log.debug({ err }, 'recording run ends failed; will try again');
        this.#o.clock.setTimer(() => {
          for (const p of pending) if (p.retry) this.#complete(p.taskId, p.run, p.decide);
        }, COMPLETE_RETRY_MS);
      },
    );
  }
}

/** run.ended for subscribers and the observer, once the end is written. */
export function announceRunEnd(o: { observer?: SupervisorObserver | undefined }, rec: TaskRecord, run: RunRecord, w: Parameters<Decide>[1]): void {
  o.observer?.runEnded(rec.type, run.state, run.durationMs);
  if (!w.announcing) return;
  const startedAt = instantText(run.startedAt);
  const endedAt = instantText(run.endedAt ?? run.startedAt);
  // One literal for the common end (no output, no error): spreads of optional parts built the
  // data field by field, and empty objects to spread, for every run.
  const data = run.output === null && run.error === null
    ? { id: rec.id, type: rec.type, attempt: run.attempt, run: run.run, state: run.state, startedAt, endedAt, durationMs: run.durationMs, worker: run.worker }
    : {
      id: rec.id, type: rec.type, attempt: run.attempt, run: run.run, state: run.state,
      ...(run.output !== null ? { output: JSON.parse(run.output) as unknown } : {}),
      ...(run.error !== null ? { error: run.error } : {}),
      startedAt, endedAt, durationMs: run.durationMs, worker: run.worker,
    };
  w.announce({ event: 'run.ended', data });
}

function outcomeEvent(outcome: RunOutcome): TaskEventType {
  if (outcome.ok) return 'SUCCEED';
  switch (outcome.error.code) {
    case 'TIMEOUT': return 'TIME_OUT';
    case 'WORKER_EXITED':
    case 'WORKER_CRASHED':
    case 'WORKER_OOM': return 'LOSE';
    default: return 'FAIL';
  }
}

function runStateOf(event: TaskEventType): RunState {
  switch (event) {
    case 'SUCCEED': return 'finished';
    case 'TIME_OUT': return 'timeout';
    case 'LOSE': return 'lost';
    default: return 'failed';
  }
}

export const runIdOf = (taskId: string, run: number): string => `${taskId}:${run}`;
