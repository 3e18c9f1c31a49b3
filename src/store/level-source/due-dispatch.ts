import type { Logger } from 'pino';
import type { Clock, Timer } from '../../clock.js';
import type { RunRecord } from '../../task/record.js';
import { isDispatchable } from '../keys.js';
import type { TaskStore } from '../store.js';
import { ClaimLead } from '../claim-lead.js';
import type { Claim, ClaimRequest, Decide } from '../task-source.js';
import type { CommitQueue } from './commit-queue.js';
import { DueWindow } from './due-window.js';
import type { LiveTask } from './live-task.js';
import type { TaskCache } from './task-cache.js';

/** A change of wall minus monotonic time this large means the wall clock was set, not drift. */
const CLOCK_JUMP_MS = 1000;
/**
 * A claim here is one group commit (~0.2–2 ms, more under a burst of writes): tasks are claimed
 * that much ahead of their due time, so that their runs are sent at it. At least 4 ms: the wake's
 * timer fires a ms or two late, which the measured round trip does not include (with 2 ms, one
 * claim in seven of the handler-lateness bench still landed after its due time; with 4, about one in a hundred).
 */
const LEVEL_LEAD = { minMs: 4, maxMs: 20, initialMs: 4 };

export interface DueDispatchOptions {
  store: TaskStore;
  cache: TaskCache;
  commit: CommitQueue;
  clock: Clock;
  log: Logger;
  /** Dispatchable tasks held in memory at most (the rest are paged from the store's due index). */
  windowSize: number;
  /** Types an operator paused: their tasks are left out of the window (claims leave them out anyway). */
  paused(): ReadonlySet<string>;
  /** Applies a decision to a task in memory and queues it for the next batch. */
  apply<T>(t: LiveTask, decide: Decide<T>, now: number): T;
}

/**
 * Which tasks are due, for the LevelDB source: the due window (the near part of the store's due
 * index, in memory), its paging, the timer for the next due time, and retry deadlines kept on the
 * monotonic clock. Claims take from the window; every change of a task re-indexes it here.
 */
export class DueDispatch {
  readonly #o: DueDispatchOptions;
  readonly #window = new DueWindow();
  readonly #lead = new ClaimLead(LEVEL_LEAD);
  #wake: () => void = () => undefined;
  #timer: Timer | null = null;
  #timerAt = Infinity;
  #retryTimer: Timer | null = null;
  #paging = false;
  /** Bumped when the window is reopened: a page read before that is discarded and read again. */
  #opened = 0;
  #closed = false;
  #wakeQueued = false;
  /** While a window page is read: tasks changed meanwhile (the page's copy of them is stale). */
  #touchedDuringPage: Set<string> | null = null;
  #beyondDuringPage: LiveTask[] = [];
  /** Monotonic deadlines of retries waiting in this process; their stored due times follow them. */
  readonly #retryDeadlines = new Map<LiveTask, number>();
  /** Wall minus monotonic time when last looked at: a change means the wall clock was set. */
  #skew: number;

  constructor(options: DueDispatchOptions) {
    this.#o = options;
    this.#skew = options.clock.now() - options.clock.monotonic();
  }

  get size(): number {
    return this.#window.size;
  }

  get complete(): boolean {
    return this.#window.complete;
  }

  /** Starts announcing due work to `wake`, with the window's first page read. */
  async start(wake: () => void): Promise<void> {
    this.#wake = wake;
    await this.#page();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) this.#o.clock.clearTimer(this.#timer);
    if (this.#retryTimer !== null) this.#o.clock.clearTimer(this.#retryTimer);
    this.#timer = null;
  }

  /**
   * Takes tasks due by now + the lead within the request's limits and applies its start decision
   * to each, in one batch.
   */
  claim(request: ClaimRequest): Claim[] {
    const { clock, commit } = this.#o;
    const now = clock.now();
    this.#followClockJump(now);
    this.#window.promote(now + this.#lead.ms);
    const poolOf = new Map<string, { left: number }>();
    const typeLeft = new Map<string, number>();
    for (const pool of request.pools) {
      const counter = { left: pool.free };
      for (const [type, n] of pool.types) {
        poolOf.set(type, counter);
        typeLeft.set(type, n);
      }
    }
    const canRun = (type: string): boolean => (poolOf.get(type)?.left ?? 0) > 0 && (typeLeft.get(type) ?? 0) > 0;
    const claims: Claim[] = [];
    for (;;) {
      const t = this.#window.take(canRun);
      if (t === undefined) break;
      this.#retryDeadlines.delete(t);
      const run: RunRecord | null = this.#o.apply(t, request.start, now);
      if (run === null) continue;
      claims.push({ rec: t.rec, run });
      poolOf.get(t.rec.type)!.left--;
      typeLeft.set(t.rec.type, typeLeft.get(t.rec.type)! - 1);
    }
    this.#maintain();
    if (claims.length > 0) {
      const asked = clock.monotonic();
      commit.onCommit(() => this.#lead.observe(clock.monotonic() - asked));
    }
    return claims;
  }

  /** Keeps the window in step with a task's record after any change. */
  reindex(t: LiveTask, now: number): void {
    const rec = t.rec;
    if (this.#touchedDuringPage !== null) this.#touchedDuringPage.add(rec.id);
    if (rec.state !== 'queued' || rec.tries === 0) this.#retryDeadlines.delete(t);
    if (!isDispatchable(rec) || this.#o.paused().has(rec.type)) {
      this.#window.remove(t);
    } else if (this.#window.covers(rec.nextRunAt, rec.id)) {
      this.#window.add(t, rec.nextRunAt, now);
      if (rec.nextRunAt <= now + this.#lead.ms) this.#wakeSoon();
      else this.#armTimer();
    } else {
      this.#window.remove(t);
      if (this.#paging) this.#beyondDuringPage.push(t);
    }
  }

  /** A decision made the task wait `delayMs` for a retry: its due time follows the monotonic clock. */
  retrying(t: LiveTask, delayMs: number): void {
    this.#retryDeadlines.set(t, this.#o.clock.monotonic() + delayMs);
  }

  /**
   * A type was paused: its tasks leave the window, whose room goes to types that can run. Resumed:
   * the window is read again from the start of the due index, which holds them.
   */
  typePaused(type: string, paused: boolean): void {
    if (paused) {
      for (const t of this.#window.dropType(type)) this.#o.cache.evictIfIdle(t);
      return;
    }
    this.#window.reopen();
    this.#opened++;
    void this.#page();
  }

  forget(t: LiveTask): void {
    this.#window.remove(t);
    this.#retryDeadlines.delete(t);
  }

  /** One wake for a burst of changes (a submitMany, a batch of run ends). */
  #wakeSoon(): void {
    if (this.#wakeQueued || this.#closed) return;
    this.#wakeQueued = true;
    queueMicrotask(() => {
      this.#wakeQueued = false;
      if (!this.#closed) this.#wake();
    });
  }

  /** After a claim: the timer, the window's size, and its next page. */
  #maintain(): void {
    this.#armTimer();
    if (this.#window.size > this.#o.windowSize * 2) {
      for (const t of this.#window.shrink(this.#o.windowSize)) this.#o.cache.evictIfIdle(t);
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
      if (rec.state !== 'queued' || rec.tries === 0 || rec.nextRunAt === null || this.#o.cache.get(rec.id) !== t) {
        this.#retryDeadlines.delete(t);
        continue;
      }
      this.#o.apply(t, (r) => {
        r.nextRunAt = Math.round(deadline + skew);
        r.updatedAt = now;
      }, now);
    }
  }

  #armTimer(): void {
    if (this.#closed) return;
    const next = this.#window.nextDue();
    const clock = this.#o.clock;
    if (next === null) {
      if (this.#timer !== null) clock.clearTimer(this.#timer);
      this.#timer = null;
      this.#timerAt = Infinity;
      return;
    }
    if (this.#timer !== null && next === this.#timerAt) return;
    if (this.#timer !== null) clock.clearTimer(this.#timer);
    this.#timerAt = next;
    // Timed from the clock now, not from the last claim: starting a burst of runs takes time.
    // A lead ahead of the due time, so that the claim's write is done by then.
    this.#timer = clock.setTimer(() => {
      this.#timer = null;
      this.#timerAt = Infinity;
      this.#wake();
      // Nothing claimed (every pool busy): the next due time still needs its timer.
      this.#armTimer();
    }, next - this.#lead.ms - clock.now());
  }

  /** Reads the next stretch of the store's due index into memory. */
  async #page(): Promise<void> {
    if (this.#paging || this.#window.complete || this.#closed) return;
    this.#paging = true;
    this.#touchedDuringPage = new Set();
    const { store, cache, commit, clock } = this.#o;
    const opened = this.#opened;
    let stale = false;
    try {
      // Everything already changed must be in the store before the read, or the page misses it.
      await commit.flushed();
      const want = Math.max(1, this.#o.windowSize - this.#window.size);
      const page = await store.dueAfter(this.#window.horizon, want);
      const recs = await store.getTasks(page.map((e) => e.id));
      const now = clock.now();
      const touched = this.#touchedDuringPage;
      if (opened !== this.#opened) {
        // Reopened meanwhile: this page was read from where the window was, not from the start.
        // What it would index is in the store, or will be once the next page has flushed.
        stale = true;
        for (const t of this.#beyondDuringPage) cache.evictIfIdle(t);
      } else {
        this.#window.extend(page.length > 0 ? page[page.length - 1]! : null, page.length < want);
        const paused = this.#o.paused();
        page.forEach((e, i) => {
          const rec = recs[i];
          if (rec === undefined || touched.has(e.id) || paused.has(rec.type)) return;
          const t = cache.adopt(rec);
          if (t.dueToken === 0) this.#indexPaged(t, now);
        });
        // Taken first: one still beyond the new horizon is pushed again while #paging holds.
        const beyond = this.#beyondDuringPage;
        this.#beyondDuringPage = [];
        for (const t of beyond) this.#indexPaged(t, now);
      }
    } catch (err) {
      this.#o.log.error({ err }, 'reading the due index failed; retrying');
      this.#retryTimer = clock.setTimer(() => void this.#page(), 1000);
    } finally {
      this.#paging = false;
      this.#touchedDuringPage = null;
      this.#beyondDuringPage = [];
    }
    if (stale) {
      void this.#page();
      return;
    }
    this.#wakeSoon();
    this.#armTimer();
  }

  #indexPaged(t: LiveTask, now: number): void {
    this.reindex(t, now);
    this.#o.commit.onCommit(() => this.#o.cache.evictIfIdle(t));
  }
}
