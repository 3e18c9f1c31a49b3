import type { Logger } from 'pino';
import type { Clock, Timer } from '../../clock.js';
import type { TaskRecord } from '../../task/record.js';
import type { PgDatabase } from './pg-database.js';
import { NOW_MS } from './pg-database.js';

export interface LeasesOptions {
  db: PgDatabase;
  clock: Clock;
  log: Logger;
  me: string;
  leaseMs: number;
  /** A run of ours may not go on: its lease could not be renewed in time, or it is no longer ours. */
  abort(taskId: string, run: number): void;
  /** Renewed after a fence: claim again. */
  unfenced(): void;
}

/** Heartbeats per lease: a beat or two may fail before the fence. */
const BEATS_PER_LEASE = 4;
/** Self-fence this far into a lease not renewed (measured from when the last renewal was sent). */
const FENCE_AT = 0.7;
const CHECKS_PER_LEASE = 20;

/**
 * The leases of the runs this runtime holds, extended from the database's now. Only those: a claim
 * whose commit was answered with an error may have committed all the same, and its rows, owned
 * here but run nowhere, must run out and be swept, not be renewed forever. The rows are locked in
 * id order, as a batch of completions locks them, so the two cannot deadlock.
 */
const RENEW_SQL = `UPDATE spindle_tasks t SET lease_until = ${NOW_MS} + $2
  FROM (SELECT id FROM spindle_tasks WHERE owner = $1 AND state = 'running' AND id = ANY($3::text[]) ORDER BY id FOR UPDATE) AS mine
  WHERE t.id = mine.id RETURNING t.id, t.run`;

interface Held {
  run: number;
  /** The beat count when the claim was written: a beat sent before it cannot have seen it. */
  beat: number;
  completing: boolean;
  /** The record as the claim wrote it, and the row's version then; null once a run end took it (see `written`). */
  written: Written | null;
}

/** A task's record as this runtime wrote it, and the version of its row that write made. */
export interface Written {
  rec: TaskRecord;
  version: number;
}

/**
 * This runtime's leases. A lease is row state (owner, lease_until in database time), never an open
 * transaction; one statement per beat extends every lease the runtime holds. A runtime that cannot
 * renew (the database is gone, or the process was stopped) fences itself before its leases end:
 * it aborts its runs and claims nothing until a beat goes through, so a run another runtime takes
 * over after the lease is not still running here. A beat that finds a run no longer ours (its
 * lease ran out and another runtime swept it) aborts that run too.
 */
export class Leases {
  readonly #o: LeasesOptions;
  readonly #held = new Map<string, Held>();
  #beats = 0;
  #beating = false;
  /** Monotonic time the last successful renewal was sent. */
  #renewedAt: number;
  #fenced = false;
  #beatTimer: Timer | null = null;
  #checkTimer: Timer | null = null;
  #closed = false;

  constructor(options: LeasesOptions) {
    this.#o = options;
    this.#renewedAt = options.clock.monotonic();
  }

  /** Fenced: the leases could not be renewed in time; nothing may be claimed until they are. */
  get fenced(): boolean {
    return this.#fenced;
  }

  start(): void {
    this.#renewedAt = this.#o.clock.monotonic();
    this.#every(this.#o.leaseMs / BEATS_PER_LEASE, () => void this.#beat(), (t) => { this.#beatTimer = t; });
    this.#every(Math.max(10, this.#o.leaseMs / CHECKS_PER_LEASE), () => this.#check(), (t) => { this.#checkTimer = t; });
  }

  close(): void {
    this.#closed = true;
    for (const t of [this.#beatTimer, this.#checkTimer]) if (t !== null) this.#o.clock.clearTimer(t);
  }

  /** A claim of ours was written: `rec` as written, making the row's `version`. */
  claimed(rec: TaskRecord, run: number, version: number): void {
    this.#held.set(rec.id, { run, beat: this.#beats, completing: false, written: { rec, version } });
  }

  /**
   * The record the claim of this run wrote, given once: the run's end applies its decision to it,
   * and a write that fails after that must read the task again, not take the changed object.
   */
  written(taskId: string, run: number): Written | null {
    const h = this.#held.get(taskId);
    if (h === undefined || h.run !== run) return null;
    const { written } = h;
    h.written = null;
    return written;
  }

  /** The run's end is being written: a beat that misses it meanwhile is not a loss. */
  completing(taskId: string, run: number, completing: boolean): void {
    const h = this.#held.get(taskId);
    if (h !== undefined && h.run === run) h.completing = completing;
  }

  /** The run is no longer ours to renew (ended, cancelled, lost). */
  ended(taskId: string, run: number): void {
    if (this.#held.get(taskId)?.run === run) this.#held.delete(taskId);
  }

  holds(taskId: string, run: number): boolean {
    return this.#held.get(taskId)?.run === run;
  }

  #every(ms: number, fn: () => void, set: (t: Timer) => void): void {
    const arm = (): void => {
      if (this.#closed) return;
      const t = this.#o.clock.setTimer(() => {
        fn();
        arm();
      }, ms);
      t.unref?.();
      set(t);
    };
    arm();
  }

  async #beat(): Promise<void> {
    if (this.#beating || this.#closed) return;
    this.#beating = true;
    const sentAt = this.#o.clock.monotonic();
    const beat = ++this.#beats;
    try {
      // A beat with nothing held still runs: it is how a fenced runtime learns the database answers again.
      const rows = await this.#o.db.query<{ id: string; run: number }>(RENEW_SQL, [this.#o.me, this.#o.leaseMs, [...this.#held.keys()]]);
      this.#renewedAt = sentAt;
      const renewed = new Set(rows.map((r) => `${r.id}:${r.run}`));
      for (const [taskId, h] of this.#held) {
        if (h.beat >= beat || h.completing || renewed.has(`${taskId}:${h.run}`)) continue;
        this.#held.delete(taskId);
        this.#o.abort(taskId, h.run);
      }
      if (this.#fenced && !this.#closed) {
        this.#fenced = false;
        this.#o.log.info('leases renewed again; claiming resumes');
        this.#o.unfenced();
      }
    } catch (err) {
      this.#o.log.warn({ err }, 'renewing leases failed; will try again');
    } finally {
      this.#beating = false;
    }
  }

  #check(): void {
    if (this.#fenced || this.#o.clock.monotonic() - this.#renewedAt < this.#o.leaseMs * FENCE_AT) return;
    this.#fenced = true;
    this.#o.log.error({ runs: this.#held.size }, 'leases could not be renewed in time; aborting this runtime\'s runs and claiming nothing until they are');
    for (const [taskId, h] of this.#held) this.#o.abort(taskId, h.run);
    this.#held.clear();
  }
}
