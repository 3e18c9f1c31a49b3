import type { Logger } from 'pino';
import { invalidArgument, SpindleError } from '../errors.js';
import { parseInteger } from '../duration.js';
import type { Executor, RunOutcome } from '../executor/executor.js';
import { compileSchedule, restoreSchedule } from '../schedule/index.js';
import { heldKeyOf, isDispatchable } from '../store/keys.js';
import type { TaskStore } from '../store/store.js';
import type { RunRecord, RunState, TaskRecord } from '../task/record.js';
import { RECORD_VERSION } from '../task/record.js';
import type { Registry, TaskType } from '../task/registry.js';
import type { TaskEventType, TransitionResult } from '../task/state.js';
import { TASK_EVENTS, TASK_STATES, TERMINAL_STATES } from '../task/state.js';
import type { ResolvedSubmit } from '../task/submit-options.js';
import { resolveSubmitOptions } from '../task/submit-options.js';
import { TASK_ID_PATTERN, TaskIdGenerator } from '../task/task-id.js';
import { wellFormed } from '../task/well-formed.js';
import { retryDelay } from '../task/task-options.js';
import { transitionTable } from '../task/transition-table.js';
import type { Clock, Timer } from './clock.js';
import { CommitQueue } from './commit-queue.js';
import { DueWindow } from './due-window.js';
import type { EventFilter, EventListener } from './events.js';
import { EventBus } from './events.js';
import { IdempotencyKeys } from './idempotency-keys.js';
import type { LiveTask } from './live-task.js';
import { newLive } from './live-task.js';
import { capOutcome } from './output-cap.js';
import { checkEventFilter, checkTypeFilter, firstThatFit, ViewPager } from './read-limits.js';
import { giveBackTry, nextInterval, nextOccurrence, type ScheduleState, skippedTo } from './occurrence.js';
import type { SupervisorObserver } from './observer.js';
import { runEndLog } from './run-log.js';
import { stableJson } from './stable-json.js';
import { StateCountTable } from './state-counts.js';
import type { HistoryView, RunView, SubmittedView, TaskView } from './task-view.js';
import { historyView, runView, taskView } from './task-view.js';

export interface SupervisorOptions {
  store: TaskStore;
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
  /** Dispatchable tasks held in memory at most (the rest are paged from the store's due index). */
  windowSize: number;
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

export interface ListOptions {
  state?: TaskView['state'];
  type?: string;
  limit?: number;
  cursor?: string;
}

export interface Stats {
  states: Record<string, number>;
  types: Record<string, Record<string, number>>;
  workers: { mode: string; size: number; busy: number };
  pools: Array<{ mode: string; size: number; busy: number }>;
  window: { size: number; complete: boolean };
  swept: number;
  uptimeMs: number;
}

const HISTORY_SPILL_AT = 64;
const HISTORY_CHUNK = 32;
const RECOVERY_PAGE = 500;
const LIST_MAX = 1000;
/** A change of wall minus monotonic time this large means the wall clock was set, not drift. */
const CLOCK_JUMP_MS = 1000;
/** A machine event as history records it (lower-cased once, not at every transition). */
const HISTORY_EVENT = Object.fromEntries(TASK_EVENTS.map((e) => [e, e.toLowerCase()])) as Record<TaskEventType, string>;

/**
 * Owns every task's lifecycle. Transitions are applied through the table derived from the XState
 * machine, written by group commit, and acted on (answered, dispatched, announced) only once
 * written. Only running tasks, the due window and unwritten changes are held in memory.
 */
export class Supervisor {
  readonly #o: SupervisorOptions;
  readonly #table = transitionTable();
  readonly #ids = new TaskIdGenerator();
  readonly #live = new Map<string, LiveTask>();
  readonly #loading = new Map<string, Promise<LiveTask | undefined>>();
  readonly #keys: IdempotencyKeys;
  readonly #schedules = new WeakMap<LiveTask, ScheduleState>();
  readonly #window = new DueWindow();
  readonly #counts = new StateCountTable();
  readonly #commit: CommitQueue;
  readonly #bus: EventBus;
  readonly #reserved = new Map<Executor, number>();
  readonly #typeBusy = new Map<string, number>();
  readonly #startedAt: number;
  #timer: Timer | null = null;
  #timerAt = Infinity;
  #sweepTimer: Timer | null = null;
  #paging = false;
  #pumpQueued = false;
  /** While a window page is read: tasks changed meanwhile (the page's copy of them is stale). */
  #touchedDuringPage: Set<string> | null = null;
  #beyondDuringPage: LiveTask[] = [];
  #swept = 0;
  #sweeping = false;
  #stopping = false;
  /** Monotonic deadlines of retries waiting in this process; their stored due times follow them. */
  readonly #retryDeadlines = new Map<LiveTask, number>();
  /** Wall minus monotonic time when last looked at: a change means the wall clock was set. */
  #skew: number;

  constructor(options: SupervisorOptions) {
    this.#o = options;
    this.#startedAt = options.clock.monotonic();
    this.#skew = options.clock.now() - this.#startedAt;
    this.#bus = new EventBus((err) => options.log.error({ err }, 'event listener threw'));
    this.#keys = new IdempotencyKeys({
      store: options.store,
      load: (id) => this.#load(id),
      changed: (t) => {
        this.#commit.touch(t);
        this.#commit.onCommit(() => this.#evictIfIdle(t));
      },
      idle: (t) => this.#evictIfIdle(t),
      retentionMs: options.keyRetentionMs,
    });
    this.#commit = new CommitQueue(options.store, {
      counts: (type) => this.#counts.of(type),
      countsCommitted: (type, counts) => this.#counts.committed(type, counts),
      countsRolledBack: () => this.#counts.rollBack(),
      rolledBack: (tasks) => this.#rolledBack(tasks),
    }, options.log);
  }

  // ── start and stop ─────────────────────────────────────────────────────────────────────────

  /** Recovers what a crash or stop left (SPEC §3), then starts dispatching. */
  async start(): Promise<void> {
    this.#counts.load(await this.#o.store.counters());
    await this.#recoverState('running', (t, now) => this.#loseInterruptedRun(t, now));
    await this.#recoverState('spooled', (t, now) => {
      this.#apply(t, 'PLACE', false, now);
      this.#reindex(t, now);
    });
    for (const type of this.#counts.types()) {
      if (this.#o.registry.types.has(type) || this.#counts.open(type) === 0) continue;
      this.#o.log.warn({ type }, 'task type no longer has a module; its open tasks fail as invalid');
      // Interrupted runs of such a type were lost above; dispatch rejects them if they come due.
      for (const state of ['spooled', 'queued'] as const) {
        await this.#recoverState(state, (t, now) => this.#apply(t, 'REJECT', false, now), type);
      }
    }
    await this.#commit.flushed();
    await this.#page();
    this.#pump();
    this.#scheduleSweep(0);
  }

  /**
   * Graceful stop (SPEC §5): refuse new work, abort running handlers, wait up to `graceMs`, kill
   * the rest. Runs whose handler settled on the signal go back to the queue with their try given
   * back (#interrupted); runs killed stay `running` in the store and count as lost tries at next start.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#timer) this.#o.clock.clearTimer(this.#timer);
    if (this.#sweepTimer) this.#o.clock.clearTimer(this.#sweepTimer);
    // Runs already started in a written batch must reach the pool before it closes.
    await this.#commit.flushed();
    const failures: unknown[] = [];
    await Promise.all(this.#o.executors.map((e) => e.close(graceMs).catch((err: unknown) => failures.push(err))));
    await this.#commit.close();
    if (failures.length > 0) this.#o.log.error({ failures }, 'executors did not close cleanly');
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  // ── submit ─────────────────────────────────────────────────────────────────────────────────

  async submit(input: unknown): Promise<SubmittedView> {
    const [view] = await this.submitMany([input], false);
    return view!;
  }

  /** Submits all or none: every task is validated first and all are written in one batch. */
  async submitMany(inputs: readonly unknown[], indexed = true): Promise<SubmittedView[]> {
    this.#assertOpen();
    const now = this.#o.clock.now();
    const resolved = inputs.map((input, i) => {
      try {
        const r = resolveSubmitOptions(input, this.#o.registry, this.#o.maxParamsBytes);
        return { r, schedule: compileSchedule(r.schedule, now) };
      } catch (err) {
        throw indexed ? atIndex(err, i) : err;
      }
    });
    const keys = [...new Set(resolved.flatMap(({ r }) => (r.key === null ? [] : [r.key])))].sort();
    return this.#keys.withKeys(keys, async () => {
      const { at, existing } = await this.#keys.holders(keys, () => {
        this.#assertOpen();
        return this.#o.clock.now();
      });
      // Checked after the awaits above and before any task is created, in one synchronous step, so
      // submits waiting on the store together cannot each pass the check on the same count.
      this.#checkQueueLimits(resolved.filter(({ r }) => r.key === null || !existing.has(r.key)).map(({ r }) => r.type));
      // Per entry: whether its key returned a task it did not create (a holder, or an earlier entry).
      const found: boolean[] = [];
      const out: LiveTask[] = resolved.map(({ r, schedule }, i) => {
        const holder = r.key === null ? undefined : existing.get(r.key);
        if (holder !== undefined) {
          if (stableJson(holder.rec.params) !== stableJson(r.params ?? null) || holder.rec.type !== r.type.name) {
            const err = keyConflict(r.key!, holder.rec);
            throw indexed ? atIndex(err, i) : err;
          }
          found[i] = true;
          return holder;
        }
        found[i] = false;
        const t = this.#create(r, schedule, at);
        if (r.key !== null) existing.set(r.key, t);
        return t;
      });
      this.#pump();
      await this.#written(out);
      return out.map((t, i) => ({ ...taskView(t.rec), existing: found[i]! }));
    });
  }

  #create(r: ResolvedSubmit, schedule: ReturnType<typeof compileSchedule>, now: number): LiveTask {
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
    const t = newLive(rec, false);
    this.#schedules.set(t, { trigger: schedule.trigger, adaptive: schedule.adaptive });
    this.#live.set(rec.id, t);
    this.#keys.taken(t);
    this.#apply(t, 'SUBMIT', false, now);
    // Params and schedule were checked at submit, so placing cannot fail: do it in the same batch.
    this.#apply(t, 'PLACE', false, now);
    rec.nextRunAt = schedule.first;
    this.#reindex(t, now);
    return t;
  }

  #checkQueueLimits(types: readonly TaskType[]): void {
    const adding = new Map<TaskType, number>();
    for (const type of types) adding.set(type, (adding.get(type) ?? 0) + 1);
    for (const [type, n] of adding) {
      if (type.maxQueued !== null && this.#counts.open(type.name) + n > type.maxQueued) {
        throw new SpindleError('QUEUE_FULL', `type ${type.name} already has ${this.#counts.open(type.name)} open tasks (maxQueued ${type.maxQueued}); retry later`, { type: type.name });
      }
    }
  }

  // ── control ────────────────────────────────────────────────────────────────────────────────

  cancel(id: string): Promise<TaskView> {
    return this.#control(id, 'CANCEL', (t, now) => this.#cancelRun(t, now));
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

  async #control(id: string, event: TaskEventType, before?: (t: LiveTask, now: number) => void): Promise<TaskView> {
    this.#assertOpen();
    const t = await this.#load(id);
    if (t === undefined) throw notFound(id);
    this.#assertOpen();
    const now = this.#o.clock.now();
    const state = t.rec.state;
    before?.(t, now);
    if (this.#apply(t, event, false, now) === null) {
      this.#evictIfIdle(t);
      throw new SpindleError('INVALID_STATE', invalidStateMessage(event, state, t.rec.paused), { state, paused: t.rec.paused, taskId: id });
    }
    this.#reindex(t, now);
    this.#pump();
    await this.#written([t]);
    return taskView(t.rec);
  }

  /** Ends the run record of a cancelled run now; its worker is aborted once the cancel is written. */
  #cancelRun(t: LiveTask, now: number): void {
    const run = t.rec.lastRun;
    if (run === null || run.state !== 'running' || t.rec.state !== 'running') return;
    const ended: RunRecord = { ...run, state: 'cancelled', endedAt: now, durationMs: now - run.startedAt, error: { code: 'CANCELLED', message: 'cancelled by a client' } };
    t.rec.lastRun = ended;
    const runId = runIdOf(t.rec.id, run.run);
    const executor = this.#executorOf(t.rec.type);
    this.#commit.onCommit(() => executor?.abort(runId, 'cancel'));
    this.#announceRunEnd(t.rec, ended);
  }

  // ── reads ──────────────────────────────────────────────────────────────────────────────────

  async get(id: string): Promise<TaskView> {
    const rec = await this.#read(id);
    if (rec === undefined) throw notFound(id);
    return taskView(rec);
  }

  async list(options: ListOptions = {}): Promise<{ tasks: TaskView[]; cursor: string | null }> {
    const limit = options.limit === undefined ? 100 : parseInteger(options.limit, 'limit', 1, LIST_MAX);
    if (options.state !== undefined && !(TASK_STATES as readonly unknown[]).includes(options.state)) {
      throw invalidArgument('state', `must be one of ${TASK_STATES.join(', ')}`);
    }
    // A cursor is the id a page ended with: anything else would silently give the first page.
    if (options.cursor !== undefined && (typeof options.cursor !== 'string' || !TASK_ID_PATTERN.test(options.cursor))) {
      throw invalidArgument('cursor', 'must be the cursor a previous page returned');
    }
    if (typeof options.type === 'string') wellFormed(options.type, 'type');
    checkTypeFilter(options.type, this.#knownType);
    const ids = await this.#o.store.listIds({
      limit,
      ...(options.state !== undefined ? { state: options.state } : {}),
      ...(options.type !== undefined ? { type: options.type } : {}),
      ...(options.cursor !== undefined ? { cursor: options.cursor } : {}),
    });
    const page = this.#pager();
    await page.collect(ids, limit);
    return { tasks: page.views, cursor: page.full ? page.lastId : ids.length === limit ? ids[ids.length - 1]! : null };
  }

  /** Queued, unpaused tasks in due order (the store's due index), `limit` at most (fewer past maxReplyBytes). */
  async pending(options: { type?: string; limit?: number } = {}): Promise<TaskView[]> {
    const limit = options.limit === undefined ? 100 : parseInteger(options.limit, 'limit', 1, LIST_MAX);
    if (typeof options.type === 'string') wellFormed(options.type, 'type');
    checkTypeFilter(options.type, this.#knownType);
    const page = this.#pager();
    const accept = options.type === undefined ? undefined : (v: TaskView): boolean => v.type === options.type;
    let after = null;
    while (page.views.length < limit && !page.full) {
      const due = await this.#o.store.dueAfter(after, Math.min(LIST_MAX, limit * 2));
      if (due.length === 0) break;
      await page.collect(due.map((e) => e.id), limit, accept);
      after = due[due.length - 1]!;
    }
    return page.views;
  }

  /** Pages are cut at maxReplyBytes; a task changed in memory but not yet written reads as changed. */
  #pager(): ViewPager {
    return new ViewPager(this.#o.maxReplyBytes, async (ids) => {
      const stored = await this.#o.store.getTasks(ids);
      return ids.map((id, i) => {
        const rec = this.#live.get(id)?.rec ?? stored[i];
        return rec === undefined ? undefined : taskView(rec);
      });
    });
  }

  readonly #knownType = (type: string): boolean => this.#o.registry.types.has(type) || this.#counts.has(type);

  /** Runs in order, those after run number `after`, ending early before maxReplyBytes (ask again after the last). */
  async runs(id: string, after = 0): Promise<RunView[]> {
    const from = parseInteger(after, 'after', 0, Number.MAX_SAFE_INTEGER);
    const rec = await this.#read(id);
    if (rec === undefined) throw notFound(id);
    const stored = await this.#o.store.runs(id);
    const byRun = new Map(stored.map((r) => [r.run, r]));
    // Runs replaced by a later one whose write has not landed yet, and the run in the record.
    for (const r of this.#commit.unwrittenRuns(id)) byRun.set(r.run, r);
    if (rec.lastRun !== null) byRun.set(rec.lastRun.run, rec.lastRun);
    return firstThatFit([...byRun.values()].filter((r) => r.run > from).sort((a, b) => a.run - b.run).map(runView), this.#o.maxReplyBytes);
  }

  /** Transitions in order, skipping the first `after`, ending early before maxReplyBytes (ask again with the count seen). */
  async history(id: string, after = 0): Promise<HistoryView[]> {
    const skip = parseInteger(after, 'after', 0, Number.MAX_SAFE_INTEGER);
    const rec = await this.#read(id);
    if (rec === undefined) throw notFound(id);
    const spilled = await this.#o.store.historyChunks(id, rec.historyChunks);
    return firstThatFit([...spilled, ...rec.history].slice(skip).map(historyView), this.#o.maxReplyBytes);
  }

  stats(): Stats {
    const pools = this.#o.executors.map((e) => ({ mode: e.mode, size: e.capacity, busy: e.busy() }));
    return {
      ...this.#counts.summary(),
      workers: pools[0]!,
      pools,
      window: { size: this.#window.size, complete: this.#window.complete },
      swept: this.#swept,
      uptimeMs: Math.round(this.#o.clock.monotonic() - this.#startedAt),
    };
  }

  subscribe(filter: EventFilter, listener: EventListener): () => void {
    checkEventFilter(filter, this.#knownType);
    return this.#bus.subscribe(filter, listener);
  }

  async #read(id: string): Promise<TaskRecord | undefined> {
    if (typeof id !== 'string' || id.length === 0 || id.length > 64) return undefined;
    wellFormed(id, 'id');
    return this.#live.get(id)?.rec ?? (await this.#o.store.getTask(id));
  }

  /** Brings a stored task into memory (one load per id at a time) for a change. */
  async #load(id: string): Promise<LiveTask | undefined> {
    if (typeof id !== 'string' || id.length === 0 || id.length > 64) return undefined;
    wellFormed(id, 'id');
    const held = this.#live.get(id);
    if (held !== undefined) return held;
    let loading = this.#loading.get(id);
    if (loading === undefined) {
      loading = this.#o.store.getTask(id).then((rec) => {
        this.#loading.delete(id);
        if (rec === undefined) return undefined;
        const again = this.#live.get(id);
        if (again !== undefined) return again;
        const t = newLive(rec, true);
        this.#live.set(id, t);
        return t;
      });
      this.#loading.set(id, loading);
    }
    const t = await loading;
    // A load is followed at once by its change (no await between), so it cannot be evicted first.
    return t;
  }

  // ── transitions ────────────────────────────────────────────────────────────────────────────

  /**
   * Applies one machine event to a task in memory and queues it for the next batch. Returns null
   * (and changes nothing) when the machine refuses the event.
   */
  #apply(t: LiveTask, event: TaskEventType, hasNext: boolean, now: number, nextDue: number | null = null): TransitionResult | null {
    const rec = t.rec;
    const res = this.#table.step(rec.state, event, {
      paused: rec.paused, tries: rec.tries, maxTries: rec.maxTries, recurring: rec.recurring, hasNext,
    });
    if (res === null) return null;
    if (res.to !== res.from) {
      this.#counts.move(rec.type, res.from, res.to);
      rec.state = res.to;
      rec.reason = res.reason;
    }
    for (const action of res.actions) {
      switch (action) {
        case 'incrementTries': rec.tries++; break;
        case 'resetTries': rec.tries = 0; break;
        case 'setPaused': rec.paused = true; break;
        case 'clearPaused': rec.paused = false; break;
        case 'retry': {
          const delay = this.#retryDelayFor(rec);
          rec.nextRunAt = now + delay;
          this.#retryDeadlines.set(t, this.#o.clock.monotonic() + delay);
          break;
        }
        case 'nextOccurrence': rec.nextRunAt = nextDue; break;
        case 'forceDue': rec.nextRunAt = now; break;
        case 'refundTry': giveBackTry(rec, now); break;
      }
    }
    rec.updatedAt = now;
    if (TERMINAL_STATES.has(res.to) && !TERMINAL_STATES.has(res.from)) this.#ended(t, now);
    this.#record(t, res, event, now);
    return res;
  }

  #ended(t: LiveTask, now: number): void {
    const rec = t.rec;
    rec.endedAt = now;
    rec.nextRunAt = null;
    this.#retryDeadlines.delete(t);
    const retention = this.#o.registry.types.get(rec.type)?.retentionMs;
    const keep = retention === undefined ? this.#o.retentionMs : retention;
    rec.expiresAt = keep === null ? null : now + keep;
    rec.keyExpiresAt = this.#keys.expiryOf(rec, now);
    this.#schedules.delete(t);
  }

  #record(t: LiveTask, res: TransitionResult, event: TaskEventType, now: number): void {
    const rec = t.rec;
    rec.history.push({ from: res.from, to: res.to, event: HISTORY_EVENT[event], at: now, reason: rec.reason });
    if (rec.history.length >= HISTORY_SPILL_AT) {
      this.#commit.addHistory({ taskId: rec.id, chunk: rec.historyChunks, entries: rec.history.splice(0, HISTORY_CHUNK) });
      rec.historyChunks++;
    }
    this.#commit.touch(t);
    if (this.#bus.active && res.to !== res.from) {
      const data = { id: rec.id, type: rec.type, from: res.from, to: res.to, reason: rec.reason, at: new Date(now).toISOString() };
      this.#commit.onCommit(() => this.#bus.emit({ event: 'task.state', data }));
    }
    if (this.#touchedDuringPage !== null) this.#touchedDuringPage.add(rec.id);
  }

  #retryDelayFor(rec: TaskRecord): number {
    const type = this.#o.registry.types.get(rec.type);
    return type === undefined ? 0 : retryDelay(rec.tries, type.retry, this.#o.random);
  }

  /** Keeps the due window in step with a task's record after any change. */
  #reindex(t: LiveTask, now: number): void {
    const rec = t.rec;
    if (!isDispatchable(rec)) {
      this.#window.remove(t);
    } else if (this.#window.covers(rec.nextRunAt, rec.id)) {
      this.#window.add(t, rec.nextRunAt, now);
    } else {
      this.#window.remove(t);
      if (this.#paging) this.#beyondDuringPage.push(t);
    }
    this.#commit.onCommit(() => this.#evictIfIdle(t));
  }

  /** Drops a task from memory once nothing needs it there: the store has it. */
  #evictIfIdle(t: LiveTask): void {
    if (t.dirty || t.inFlight > 0 || t.dueToken !== 0 || t.pins > 0 || t.rec.state === 'running' || t.committed === null) return;
    if (this.#live.get(t.rec.id) !== t) return;
    this.#live.delete(t.rec.id);
    this.#keys.forget(t);
  }

  /** Resolves once the tasks' current changes are written; rejects with STORE_UNAVAILABLE if not. */
  #written(tasks: readonly LiveTask[]): Promise<void> {
    for (const t of tasks) t.pins++;
    return new Promise<void>((resolve, reject) => {
      const unpin = (): void => {
        for (const t of tasks) {
          t.pins--;
          this.#evictIfIdle(t);
        }
      };
      this.#commit.onCommit(() => { unpin(); resolve(); }, (err) => { unpin(); reject(err); });
    });
  }

  /** A failed write undid these tasks' unwritten changes: bring memory back in step. */
  #rolledBack(tasks: LiveTask[]): void {
    const now = this.#o.clock.now();
    for (const t of tasks) {
      if (t.committed === null) {
        // Never written: the task does not exist.
        this.#window.remove(t);
        this.#live.delete(t.rec.id);
        this.#keys.forget(t);
        continue;
      }
      this.#reindex(t, now);
    }
    // Reservations of runs that never started are released by their own failure callbacks.
    this.#pump();
  }

  // ── dispatch ───────────────────────────────────────────────────────────────────────────────

  /** One pump for a burst of releases (a worker returns many results in one message). */
  #pumpSoon(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#stopping) return;
    const now = this.#o.clock.now();
    this.#followClockJump(now);
    this.#window.promote(now);
    for (;;) {
      const t = this.#window.take((type) => this.#canRun(type));
      if (t === undefined) break;
      this.#start(t, now);
    }
    this.#armTimer();
    if (this.#window.size > this.#o.windowSize * 2) {
      for (const t of this.#window.shrink(this.#o.windowSize)) this.#evictIfIdle(t);
    }
    if (!this.#window.complete && !this.#paging && this.#window.size < this.#o.windowSize / 2) void this.#page();
  }

  /**
   * Retry delays are promised on the monotonic clock, but stored as wall-clock due times (they must
   * survive a restart). When the wall clock is set, the retries waiting in this process get due
   * times that keep their monotonic deadline; fire times of schedules stay where they are.
   */
  #followClockJump(now: number): void {
    const skew = now - this.#o.clock.monotonic();
    if (Math.abs(skew - this.#skew) < CLOCK_JUMP_MS) return;
    this.#skew = skew;
    for (const [t, deadline] of this.#retryDeadlines) {
      const rec = t.rec;
      // An evicted task is reloaded as a new object later: the old one must not be written.
      if (rec.state !== 'queued' || rec.tries === 0 || rec.nextRunAt === null || this.#live.get(rec.id) !== t) {
        this.#retryDeadlines.delete(t);
        continue;
      }
      rec.nextRunAt = Math.round(deadline + skew);
      rec.updatedAt = now;
      this.#commit.touch(t);
      this.#reindex(t, now);
    }
  }

  #canRun(typeName: string): boolean {
    const type = this.#o.registry.types.get(typeName);
    if (type === undefined) return true; // an orphan: #start fails it as invalid
    const executor = this.#o.executorFor(type);
    if ((this.#reserved.get(executor) ?? 0) >= executor.capacity) return false;
    return type.concurrency === null || (this.#typeBusy.get(typeName) ?? 0) < type.concurrency;
  }

  #start(t: LiveTask, now: number): void {
    const rec = t.rec;
    const type = this.#o.registry.types.get(rec.type);
    if (type === undefined) {
      this.#apply(t, 'REJECT', false, now);
      this.#reindex(t, now);
      return;
    }
    this.#retryDeadlines.delete(t);
    if (rec.recurring && rec.tries === 0 && rec.nextRunAt !== null && now - rec.nextRunAt > rec.graceMs) this.#o.observer?.misfire(rec.type, rec.misfire);
    if (rec.recurring && this.#skipMisfire(t, now)) return;
    const newOccurrence = rec.tries === 0;
    const dueAt = rec.nextRunAt;
    if (this.#apply(t, 'START', false, now) === null) return;
    if (newOccurrence) {
      rec.firedAt = dueAt;
      rec.occurrences++;
    }
    rec.nextRunAt = null;
    rec.runCount++;
    const run: RunRecord = {
      v: RECORD_VERSION, taskId: rec.id, run: rec.runCount, attempt: rec.tries, state: 'running',
      startedAt: now, endedAt: null, durationMs: null, worker: null, output: null, error: null, progress: null,
    };
    // The record holds its last run; the one it replaces gets its own key (read by `runs`).
    if (rec.lastRun !== null) this.#commit.addRun(rec.lastRun);
    rec.lastRun = run;
    const executor = this.#o.executorFor(type);
    this.#reserve(executor, type.name, 1);
    const request = {
      runId: runIdOf(rec.id, run.run), taskId: rec.id, type: type.name, modulePath: type.file,
      params: rec.params, attempt: run.attempt, timeoutMs: rec.timeoutMs,
    };
    this.#commit.onCommit(
      () => {
        if (this.#bus.active) {
          this.#bus.emit({ event: 'run.started', data: { id: rec.id, type: rec.type, attempt: run.attempt, run: run.run, startedAt: new Date(now).toISOString() } });
        }
        this.#o.observer?.runStarted(rec.type, dueAt ?? now, now, newOccurrence);
        executor.run(request, {
          onProgress: (p) => this.#progress(t, run.run, p),
          onOutcome: (outcome) => this.#outcome(t, run.run, outcome),
          onInterrupted: () => this.#interrupted(t, run.run),
          onReleased: () => {
            this.#reserve(executor, type.name, -1);
            this.#pumpSoon();
          },
        });
      },
      () => this.#reserve(executor, type.name, -1),
    );
  }

  /**
   * Moves a `skip` task whose due time fell more than graceMs behind to its first fire time within
   * grace. True when that is still ahead, so the task goes back to wait; when no fire time is left,
   * the stale one runs as the last occurrence (the machine ends a recurring task only after a run).
   */
  #skipMisfire(t: LiveTask, now: number): boolean {
    const skip = skippedTo(t.rec, this.#schedule(t), now);
    if (skip === undefined || skip.due === null) return false;
    t.rec.nextRunAt = skip.due;
    if (skip.due <= now) return false;
    t.rec.updatedAt = now;
    this.#commit.touch(t);
    this.#reindex(t, now);
    return true;
  }

  #reserve(executor: Executor, type: string, delta: number): void {
    this.#reserved.set(executor, (this.#reserved.get(executor) ?? 0) + delta);
    this.#typeBusy.set(type, (this.#typeBusy.get(type) ?? 0) + delta);
  }

  #progress(t: LiveTask, run: number, progress: number): void {
    const rec = t.rec;
    if (rec.lastRun?.run !== run || rec.lastRun.state !== 'running') return;
    // Progress is shown, not persisted on its own: it is written with the next change of the task.
    rec.lastRun = { ...rec.lastRun, progress };
    if (this.#bus.active) this.#bus.emit({ event: 'run.progress', data: { id: rec.id, type: rec.type, attempt: rec.lastRun.attempt, run, progress } });
  }

  #outcome(t: LiveTask, run: number, outcome: RunOutcome): void {
    const rec = t.rec;
    // A cancelled run was ended when the cancel was written; a stopping runtime leaves interrupted
    // runs `running` so the next start counts them as lost tries.
    if (rec.state !== 'running' || rec.lastRun?.run !== run) return;
    if (this.#stopping && !outcome.ok) return;
    outcome = capOutcome(outcome, this.#o.maxOutputBytes);
    const now = this.#o.clock.now();
    const event = outcomeEvent(outcome);
    if (outcome.ok && rec.interval !== null) {
      const { adaptive } = this.#schedule(t);
      if (adaptive !== null) rec.interval = nextInterval(rec, adaptive, outcome.output ?? null);
    }
    const next = rec.recurring ? nextOccurrence(rec, this.#schedule(t), now) : null;
    const started = rec.lastRun;
    const ended: RunRecord = {
      ...started,
      state: runStateOf(event),
      endedAt: now,
      durationMs: outcome.durationMs,
      worker: outcome.worker,
      output: outcome.ok ? (outcome.output ?? null) : null,
      error: outcome.ok ? null : outcome.error,
    };
    rec.lastRun = ended;
    const res = this.#apply(t, event, next !== null, now, next === null ? null : next.due);
    if (res?.actions.includes('nextOccurrence')) rec.firedAt = null;
    this.#reindex(t, now);
    this.#announceRunEnd(rec, ended);
    const logLine = res === null ? undefined : runEndLog(this.#o.log, rec, ended, res);
    // If this write fails the task is back to `running` in memory: apply the outcome again later.
    this.#commit.onCommit(() => logLine?.(), () => {
      this.#o.clock.setTimer(() => this.#outcome(t, run, outcome), 250);
    });
  }

  /**
   * A graceful stop aborted the run and its handler settled on the signal: the run ends
   * `interrupted` and the task goes back to the queue with its try given back (INTERRUPT). Written
   * before the store closes; if that write fails the run stays `running`, a lost try at next start.
   */
  #interrupted(t: LiveTask, run: number): void {
    const rec = t.rec;
    if (!this.#stopping || rec.state !== 'running' || rec.lastRun?.run !== run) return;
    const now = this.#o.clock.now();
    const before = rec.lastRun;
    const ended: RunRecord = {
      ...before, state: 'interrupted', endedAt: now, durationMs: now - before.startedAt,
      error: { code: 'CANCELLED', message: 'a graceful stop aborted the run and its handler returned on its signal; the try was given back' },
    };
    rec.lastRun = ended;
    const res = this.#apply(t, 'INTERRUPT', false, now);
    if (res === null) {
      rec.lastRun = before;
      return;
    }
    this.#reindex(t, now);
    this.#announceRunEnd(rec, ended);
    const logLine = runEndLog(this.#o.log, rec, ended, res);
    if (logLine !== undefined) this.#commit.onCommit(logLine);
  }

  #announceRunEnd(rec: TaskRecord, run: RunRecord): void {
    this.#o.observer?.runEnded(rec.type, run.state, run.durationMs);
    if (!this.#bus.active) return;
    const data = {
      id: rec.id, type: rec.type, attempt: run.attempt, run: run.run, state: run.state,
      ...(run.output !== null ? { output: JSON.parse(run.output) as unknown } : {}),
      ...(run.error !== null ? { error: run.error } : {}),
      startedAt: new Date(run.startedAt).toISOString(), endedAt: new Date(run.endedAt ?? run.startedAt).toISOString(),
      durationMs: run.durationMs, worker: run.worker,
    };
    this.#commit.onCommit(() => this.#bus.emit({ event: 'run.ended', data }));
  }

  #schedule(t: LiveTask): ScheduleState {
    let schedule = this.#schedules.get(t);
    if (schedule === undefined) {
      const { trigger, adaptive } = restoreSchedule(t.rec.schedule);
      schedule = { trigger, adaptive };
      this.#schedules.set(t, schedule);
    }
    return schedule;
  }

  #executorOf(typeName: string): Executor | undefined {
    const type = this.#o.registry.types.get(typeName);
    return type === undefined ? undefined : this.#o.executorFor(type);
  }

  #armTimer(): void {
    const next = this.#window.nextDue();
    if (next === null) {
      if (this.#timer !== null) this.#o.clock.clearTimer(this.#timer);
      this.#timer = null;
      this.#timerAt = Infinity;
      return;
    }
    if (this.#timer !== null && next === this.#timerAt) return;
    if (this.#timer !== null) this.#o.clock.clearTimer(this.#timer);
    this.#timerAt = next;
    // Timed from the clock now, not from the pump's start: starting a burst of runs takes time.
    this.#timer = this.#o.clock.setTimer(() => {
      this.#timer = null;
      this.#timerAt = Infinity;
      this.#pump();
    }, next - this.#o.clock.now());
  }

  // ── the due window's paging ────────────────────────────────────────────────────────────────

  /** Reads the next stretch of the store's due index into memory. */
  async #page(): Promise<void> {
    if (this.#paging || this.#window.complete || this.#stopping) return;
    this.#paging = true;
    this.#touchedDuringPage = new Set();
    try {
      // Everything already changed must be in the store before the read, or the page misses it.
      await this.#commit.flushed();
      const want = Math.max(1, this.#o.windowSize - this.#window.size);
      const page = await this.#o.store.dueAfter(this.#window.horizon, want);
      const recs = await this.#o.store.getTasks(page.map((e) => e.id));
      const now = this.#o.clock.now();
      const touched = this.#touchedDuringPage;
      this.#window.extend(page.length > 0 ? page[page.length - 1]! : null, page.length < want);
      page.forEach((e, i) => {
        const rec = recs[i];
        if (rec === undefined || touched.has(e.id)) return;
        let t = this.#live.get(e.id);
        if (t === undefined) {
          t = newLive(rec, true);
          this.#live.set(e.id, t);
        }
        if (t.dueToken === 0) this.#reindex(t, now);
      });
      for (const t of this.#beyondDuringPage) this.#reindex(t, now);
    } catch (err) {
      this.#o.log.error({ err }, 'reading the due index failed; retrying');
      this.#o.clock.setTimer(() => void this.#page(), 1000);
    } finally {
      this.#paging = false;
      this.#touchedDuringPage = null;
      this.#beyondDuringPage = [];
    }
    this.#pump();
  }

  // ── recovery ───────────────────────────────────────────────────────────────────────────────

  async #recoverState(state: 'running' | 'spooled' | 'queued', fix: (t: LiveTask, now: number) => void, type?: string): Promise<void> {
    let cursor: string | undefined;
    for (;;) {
      const ids = await this.#o.store.idsInState(state, RECOVERY_PAGE, cursor, type);
      if (ids.length === 0) return;
      cursor = ids[ids.length - 1];
      const recs = await this.#o.store.getTasks(ids);
      const now = this.#o.clock.now();
      for (const rec of recs) {
        if (rec === undefined) continue;
        const t = newLive(rec, true);
        this.#live.set(rec.id, t);
        fix(t, now);
        this.#commit.onCommit(() => this.#evictIfIdle(t));
      }
      await this.#commit.flushed();
    }
  }

  /** A run left `running` by a crash or a stop is a lost try (SPEC §3). */
  #loseInterruptedRun(t: LiveTask, now: number): void {
    const rec = t.rec;
    const run = rec.lastRun;
    if (run !== null && run.state === 'running') {
      const lost: RunRecord = {
        ...run, state: 'lost', endedAt: now, durationMs: null,
        error: { code: 'WORKER_EXITED', message: 'the runtime stopped while this run was in flight; the try counts as lost' },
      };
      rec.lastRun = lost;
    }
    const next = rec.recurring ? nextOccurrence(rec, this.#schedule(t), now) : null;
    const res = this.#apply(t, 'LOSE', next !== null, now, next === null ? null : next.due);
    this.#reindex(t, now);
    const logLine = res === null || rec.lastRun === run || rec.lastRun === null ? undefined : runEndLog(this.#o.log, rec, rec.lastRun, res);
    if (logLine !== undefined) this.#commit.onCommit(logLine);
  }

  // ── retention ──────────────────────────────────────────────────────────────────────────────

  #scheduleSweep(delay: number): void {
    if (this.#stopping) return;
    this.#sweepTimer = this.#o.clock.setTimer(() => void this.#sweep(), delay);
    this.#sweepTimer.unref?.();
  }

  /** Deletes terminal tasks past their retention, a small batch at a time, by the expiry index. */
  async #sweep(): Promise<void> {
    if (this.#sweeping || this.#stopping) return;
    this.#sweeping = true;
    let more = false;
    try {
      const now = this.#o.clock.now();
      const keys = await this.#keys.sweep(now, this.#o.sweepBatch);
      const ids = await this.#o.store.expired(now, this.#o.sweepBatch);
      const recs = await this.#o.store.getTasks(ids.filter((id) => !this.#live.has(id)));
      let removed = 0;
      for (const rec of recs) {
        // A task in memory may be changing (its key being released): it goes at a later sweep. So
        // does one still holding its key: its delete must not race a new task taking the key.
        if (rec === undefined || !TERMINAL_STATES.has(rec.state) || this.#live.has(rec.id) || heldKeyOf(rec) !== null) continue;
        this.#commit.deleteTask(rec);
        this.#counts.add(rec.type, rec.state, -1);
        this.#commit.touchCounts(rec.type);
        removed++;
      }
      await new Promise<void>((resolve, reject) => this.#commit.onCommit(resolve, reject));
      this.#swept += removed;
      more = (ids.length === this.#o.sweepBatch && removed > 0) || (keys.read === this.#o.sweepBatch && keys.released > 0);
    } catch (err) {
      this.#o.log.error({ err }, 'retention sweep failed; will try again');
    } finally {
      this.#sweeping = false;
    }
    this.#scheduleSweep(more ? 0 : this.#o.sweepIntervalMs);
  }

  #assertOpen(): void {
    if (this.#stopping) throw new SpindleError('SHUTTING_DOWN', 'the runtime is shutting down; retry once it is back');
  }
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

const runIdOf = (taskId: string, run: number): string => `${taskId}:${run}`;

function notFound(id: string): SpindleError {
  return new SpindleError('NOT_FOUND', `no task with id ${JSON.stringify(String(id).slice(0, 64))}; it may have been removed after its retention`, { taskId: String(id).slice(0, 64) });
}

function keyConflict(key: string, holder: TaskRecord): SpindleError {
  const held = TERMINAL_STATES.has(holder.state)
    ? `task ${holder.id}, which ended ${holder.state} and keeps the key until ${new Date(holder.keyExpiresAt ?? 0).toISOString()}`
    : `live task ${holder.id}`;
  return new SpindleError('KEY_CONFLICT', `key ${JSON.stringify(key)} belongs to ${held}, with other params; use another key`, { field: 'key', taskId: holder.id });
}

function invalidStateMessage(event: TaskEventType, state: string, paused: boolean): string {
  if (event === 'PAUSE' && paused) return 'the task is already paused';
  if (event === 'RESUME' && !paused) return 'the task is not paused';
  if (event === 'RUN_NOW' && paused) return 'the task is paused; resume it first';
  return `cannot ${event.toLowerCase().replace('_', '-')} a task that is ${state}`;
}

/** Names the failing entry of a submitMany: `tasks[3].params`. */
function atIndex(err: unknown, i: number): unknown {
  if (!(err instanceof SpindleError)) return err;
  const field = err.details.field === undefined ? `tasks[${i}]` : `tasks[${i}].${err.details.field}`;
  return new SpindleError(err.code, `tasks[${i}]: ${err.message}`, { ...err.details, field, index: i }, err.cause);
}
