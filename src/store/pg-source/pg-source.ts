import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { PoolClient } from 'pg';
import type { Logger } from 'pino';
import type { SpindleEvent } from '../../api/events.js';
import type { Clock } from '../../clock.js';
import { systemClock } from '../../clock.js';
import { SpindleError, taskNotFound } from '../../errors.js';
import type { TaskRecord } from '../../task/record.js';
import type {
  Claim, ClaimRequest, Completion, CompletionResult, Decide, SourceSignals, SourceStart, SubmitRequest, Submitted, TaskReader, TaskSource,
} from '../task-source.js';
import { pausedOf } from '../keys.js';
import { ClaimLead } from '../claim-lead.js';
import { ClaimCursors, type ClaimKey } from './claim-cursor.js';
import { CLAIM_FUNCTION_SQL, claimOp } from './claims.js';
import { Completions } from './completions.js';
import { EventOrder } from './event-order.js';
import { KeptRecords } from './kept-records.js';
import { GroupCommit } from './group-commit.js';
import { Leases } from './leases.js';
import { PgCounts } from './pg-counts.js';
import type { PgDatabase } from './pg-database.js';
import { PgReader } from './pg-reader.js';
import { deleteTasks, LOADED_COLUMNS, type LoadedTask, UPDATE_FUNCTION_SQL } from './rows.js';
import { RetentionSweep } from './retention-sweep.js';
import { writeSubmits } from './submits.js';
import { TaskWrite } from './task-write.js';
import { TypePauses } from './type-pauses.js';
import { Replays } from './replays.js';
import { MISSED_MARGIN_MS, Wakeups } from './wakeups.js';
import { Watchers } from './watchers.js';

export interface PgSourceOptions {
  db: PgDatabase;
  log: Logger;
  /** How long a claim holds without a renewal (SPEC §9): a dead runtime's runs wait this long to be taken over. */
  leaseMs: number;
  /** Timers and the monotonic clock (wall time is the database's). */
  clock?: Clock;
  /**
   * This runtime's name in the tasks it claims; unique per process start by default. One that stays
   * the same across restarts (and is never used by two live processes at once) lets a restart after
   * a crash take back its runs at once instead of after their lease.
   */
  id?: string;
}

interface Selection {
  where: string;
  values: unknown[];
}

/** Rows looked at per recovery transaction (abandoned runs, spooled tasks). */
const RECOVERY_BATCH = 100;
/**
 * A claim here is a round trip and a commit, a WAL flush: a few ms on a quiet disk, tens on a
 * loaded one. Tasks are claimed that much ahead of their due time, as measured, within these
 * bounds (at least 4 ms, as on LevelDB: the wake's timer lateness is not in the measured trip).
 */
const PG_LEAD = { minMs: 4, maxMs: 250, initialMs: 20 };

/**
 * The task source over PostgreSQL, shared by any number of runtimes. Every decision is applied in
 * JS to the rows a transaction has locked and written before that transaction commits; nothing is
 * answered, started or announced before the commit. Claims are row state (owner, lease end, run
 * number) and every completion is fenced by them. Times are the database's.
 */
export class PgSource implements TaskSource {
  readonly reader: TaskReader;
  /** This runtime, as owner of the runs it claims. */
  readonly id: string;
  readonly #o: PgSourceOptions;
  readonly #clock: Clock;
  readonly #counts: PgCounts;
  readonly #typePauses: TypePauses;
  readonly #leases: Leases;
  readonly #wakeups: Wakeups;
  readonly #watchers: Watchers;
  readonly #replays: Replays;
  readonly #completions: Completions;
  readonly #shared: GroupCommit;
  #removedAtEnd = 0;
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #lead = new ClaimLead(PG_LEAD);
  readonly #cursors = new ClaimCursors();
  readonly #sweep = new RetentionSweep((fn) => this.#write(fn));
  readonly #kept: KeptRecords;
  readonly #order: EventOrder;
  #start: SourceStart | null = null;
  #signals: SourceSignals | null = null;
  #sweepingAbandoned = false;
  /** Ends since then (database ms) are replayed once the other runtimes know this one listens: since its listeners came, less a margin for transactions begun before. */
  #listeningSince = 0;
  #closed = false;

  constructor(options: PgSourceOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#kept = new KeptRecords(() => this.#clock.monotonic());
    this.#order = new EventOrder((events) => this.#emit(events), () => this.#clock.monotonic());
    this.id = options.id ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    const { db, log } = options;
    db.session(CLAIM_FUNCTION_SQL);
    db.session(UPDATE_FUNCTION_SQL);
    this.#counts = new PgCounts(db, log);
    this.#typePauses = new TypePauses(db, log);
    this.reader = new PgReader(db, this.#counts);
    this.#leases = new Leases({
      db, log, clock: this.#clock, me: this.id, leaseMs: options.leaseMs,
      abort: (taskId, run) => this.#signals?.abort(taskId, run, 'lease'),
      unfenced: () => this.#wakeups.wakeSoon(),
    });
    this.#watchers = new Watchers({ db, log, clock: this.#clock, me: this.id, taken: () => this.#replays.later(this.#listeningSince) });
    this.#replays = new Replays({ reader: this.reader, clock: this.#clock, log, signals: () => this.#signals });
    this.#wakeups = new Wakeups({
      db, log, clock: this.#clock, me: this.id,
      wake: () => this.#signals?.wake(),
      leadMs: () => this.#lead.ms,
      abort: ({ taskId, run }) => {
        if (!this.#leases.holds(taskId, run)) return;
        this.#leases.ended(taskId, run);
        this.#signals?.abort(taskId, run, 'cancel');
      },
      queuedElsewhere: () => this.#cursors.reset(),
      typePauses: () => {
        this.#cursors.reset();
        void this.#typePauses.refresh();
      },
      listening: () => this.#signals?.listening() ?? false,
      events: (events) => this.#order.others(events),
      heard: (seq) => this.#order.heard(seq),
      missed: (since) => this.#missed(since),
      tick: () => {
        this.#cursors.reset();
        this.#order.tick();
        void this.#sweepAbandoned();
        void this.#typePauses.refresh();
        void this.#watchers.refresh();
      },
      connected: (client) => {
        this.#cursors.hold(false);
        this.#order.connected();
        this.#watchers.connected(client);
      },
      disconnected: () => {
        this.#cursors.hold(true);
        this.#order.disconnected();
        this.#watchers.disconnected();
      },
      watching: () => this.#watchers.heard(),
    });
    this.#shared = new GroupCommit({ write: (fn) => this.#write(fn) });
    this.#completions = new Completions({ me: this.id, leases: this.#leases, write: (op) => this.#shared.run(op) });
  }

  async start(options: SourceStart, signals: SourceSignals): Promise<void> {
    this.#start = options;
    this.#signals = signals;
    await this.#counts.refresh();
    await this.#typePauses.refresh();
    // A submit writes its tasks placed, so spooled ones are rare: placed here all the same.
    while (await this.#recover(() => ({ where: "state = 'spooled'", values: [] }), options.place) === RECOVERY_BATCH);
    // Runs under this runtime's id were left by an earlier process of it (an id given in the
    // options outlives the process; nothing has been claimed yet): lost tries without waiting out
    // their leases. Then those of any runtime whose lease ran out. `orphaned` is not applied: a
    // type unknown here may be known to another runtime on the same database.
    const mine = (): Selection => ({ where: "state = 'running' AND owner = $1", values: [this.id] });
    while (await this.#recover(mine, options.abandoned) === RECOVERY_BATCH);
    while (await this.#sweepAbandoned() === RECOVERY_BATCH);
    this.#leases.start();
    await this.#wakeups.start();
  }

  submit(request: SubmitRequest): Promise<Submitted[]> {
    this.#assertOpen();
    return this.#write((client, w) => writeSubmits(client, w, request));
  }

  async claim(request: ClaimRequest): Promise<Claim[]> {
    if (this.#closed || this.#leases.fenced || request.pools.every((p) => p.free <= 0)) return [];
    const asked = this.#clock.monotonic();
    const epoch = this.#cursors.epoch;
    const cursor = (types: readonly string[]): ClaimKey | undefined => this.#cursors.get(types);
    const { claims, versions, nextDue, reached } = await this.#shared.run(claimOp(request, { me: this.id, leaseMs: this.#o.leaseMs, leadMs: this.#lead.ms, cursor }));
    for (const r of reached) this.#cursors.reached(r.types, r.key, epoch);
    this.#lead.observe(this.#clock.monotonic() - asked);
    for (const [i, c] of claims.entries()) this.#leases.claimed(c.rec, c.run.run, versions[i]!);
    if (nextDue !== null) this.#wakeups.dueAt(nextDue);
    return claims;
  }

  now(): number {
    return this.#wakeups.dbNow();
  }

  complete(items: readonly Completion[]): Promise<CompletionResult[]> {
    this.#assertOpen();
    return this.#completions.complete(items);
  }

  update(id: string, decide: Decide): Promise<TaskRecord> {
    this.#assertOpen();
    return this.#write(async (client, w) => {
      const rows = await client.query(`SELECT ${LOADED_COLUMNS} FROM spindle_tasks WHERE id = $1 FOR UPDATE`, [id]);
      if (rows.rows.length === 0) throw taskNotFound(id);
      const task = w.loaded(rows.rows[0]);
      const running = task.rec.state === 'running' ? task.rec.lastRun : null;
      w.apply(task, decide);
      if (running !== null && task.rec.state !== 'running' && task.owner !== null) this.#stopRun(w, task.owner, id, running.run);
      return task.rec;
    });
  }

  async delete(id: string, check: (rec: TaskRecord, now: number) => void): Promise<void> {
    this.#assertOpen();
    await this.#write(async (client, w) => {
      const rows = await client.query(`SELECT ${LOADED_COLUMNS} FROM spindle_tasks WHERE id = $1 FOR UPDATE`, [id]);
      if (rows.rows.length === 0) throw taskNotFound(id);
      const { rec } = w.loaded(rows.rows[0]);
      check(rec, w.now);
      await deleteTasks(client, [id]);
      w.deleted(rec.type, rec.state, { paused: pausedOf(rec) });
    });
  }

  get removedAtEnd(): number {
    return this.#removedAtEnd;
  }

  pausedTypes(): ReadonlySet<string> {
    return this.#typePauses.types;
  }

  async setTypePaused(type: string, paused: boolean): Promise<void> {
    this.#assertOpen();
    await this.#write(async (client, w) => {
      if (paused) await client.query('INSERT INTO spindle_type_pauses (type) VALUES ($1) ON CONFLICT DO NOTHING', [type]);
      else await client.query('DELETE FROM spindle_type_pauses WHERE type = $1', [type]);
      w.notice({ typePauses: true });
    });
    this.#typePauses.committed(type, paused);
    // A resumed type's due tasks are claimable now (another runtime hears it in the notice and claims on its next wake).
    if (!paused) {
      this.#cursors.reset();
      this.#wakeups.wakeSoon();
    }
  }

  async sweep(limit: number): Promise<{ removed: number; more: boolean }> {
    return this.#closed ? { removed: 0, more: false } : this.#sweep.round(limit);
  }

  /** Whether this runtime's transactions send their events now (some runtime on the database listens, as far as it knows). */
  get announcing(): boolean {
    return this.#watchers.watched || (this.#signals?.listening() ?? false);
  }

  /**
   * The other runtimes send events only once they know this one listens: an end committed before
   * then is replayed to the waiters here once they all must know (see `taken`); a wait that
   * subscribes, then reads its task, sees an end before the subscription in the read.
   */
  listeners(active: boolean): void {
    if (this.#closed) return;
    if (active) this.#listeningSince = this.#wakeups.dbNow() - MISSED_MARGIN_MS;
    this.#watchers.listening(active);
  }

  async flushed(): Promise<void> {
    await this.#shared.flushed();
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wakeups.close();
    this.#order.disconnected();
    this.#watchers.close();
    this.#replays.close();
    await this.flushed();
    this.#leases.close();
    this.#counts.close();
    // Runs still ours are not going to end here: their leases end now, so the next sweep (this
    // runtime's next start, or any other runtime's) counts them lost without waiting a lease out.
    await this.#o.db.query(`UPDATE spindle_tasks SET lease_until = floor(extract(epoch from now()) * 1000)
      WHERE owner = $1 AND state = 'running'`, [this.id]).catch((err: unknown) => this.#o.log.warn({ err }, 'could not end this runtime\'s leases at close'));
  }

  /** A decision took a task out of `running`: its run must stop where it runs. */
  #stopRun(w: TaskWrite, owner: string, taskId: string, run: number): void {
    if (owner !== this.id) {
      w.notice({ abort: { owner, taskId, run } });
      return;
    }
    w.afterWrite(() => {
      if (!this.#leases.holds(taskId, run)) return;
      this.#leases.ended(taskId, run);
      this.#signals?.abort(taskId, run, 'cancel');
    });
  }

  /** Events for this runtime's listeners: from its own commits, and from other runtimes' notices. */
  #emit(events: readonly SpindleEvent[]): void {
    const signals = this.#signals;
    if (signals === null || !signals.listening()) return;
    this.#replays.emitted(events);
    for (const event of events) signals.emit(event);
  }

  /**
   * The listener was down, so notices may have been lost: ended tasks followed by id are replayed
   * now, and again once the other runtimes know this one listens again (its lock went with the
   * connection, and is taken again on the new one). Other events of the outage are not replayed.
   */
  #missed(since: number): void {
    // The lock is being taken again on the new connection: its replay goes back to the outage, no further.
    this.#listeningSince = Math.max(this.#listeningSince, since);
    const signals = this.#signals;
    if (signals === null || !signals.listening() || signals.watchedTasks().length === 0) return;
    this.#o.log.warn({ since: new Date(since).toISOString() }, 'the database listener was down: events of other runtimes may have been missed; ended tasks followed by id are announced again');
    this.#replays.later(since);
    void this.#replays.now(since);
  }

  /** Runs whose lease ran out (their runtime died, or stalled past it): lost tries, a batch at a time. */
  async #sweepAbandoned(): Promise<number> {
    const start = this.#start;
    if (start === null || this.#closed || this.#sweepingAbandoned) return 0;
    this.#sweepingAbandoned = true;
    try {
      const expired = (w: TaskWrite): Selection => ({ where: "state = 'running' AND lease_until <= $1", values: [w.now] });
      return await this.#recover(expired, start.abandoned, (w, task) => {
        if (task.owner !== null && task.rec.lastRun !== null) this.#stopRun(w, task.owner, task.rec.id, task.rec.lastRun.run);
      });
    } catch (err) {
      this.#o.log.warn({ err }, 'sweeping abandoned runs failed; will try again');
      return 0;
    } finally {
      this.#sweepingAbandoned = false;
    }
  }

  /** Applies `decide` to a batch of the rows `select` names (rows another transaction holds are skipped); resolves with how many. */
  #recover(select: (w: TaskWrite) => Selection, decide: Decide, before?: (w: TaskWrite, task: LoadedTask) => void): Promise<number> {
    return this.#write(async (client, w) => {
      const { where, values } = select(w);
      const rows = await client.query(`SELECT ${LOADED_COLUMNS} FROM spindle_tasks WHERE ${where}
        ORDER BY id LIMIT ${RECOVERY_BATCH} FOR UPDATE SKIP LOCKED`, values);
      for (const row of rows.rows) {
        const task = w.loaded(row);
        before?.(w, task);
        w.apply(task, decide);
      }
      return rows.rows.length;
    });
  }

  /**
   * One transaction: `fn` reads and decides, its changes are written, and once committed the counts
   * move, the decisions' after-write work runs, and a task made due wakes this runtime.
   */
  #write<T>(fn: (client: PoolClient, w: TaskWrite) => Promise<T>): Promise<T> {
    const p = (async () => {
      let last: TaskWrite | null = null;
      let seq: number | null = null;
      const out = await this.#o.db.transaction(async (client, now) => {
        this.#wakeups.observed(now);
        const w = new TaskWrite(now, this.#kept, () => this.announcing);
        last = w;
        const result = await fn(client, w);
        const sending = this.announcing;
        seq = sending && w.events.length > 0 ? this.#order.next() : null;
        await w.flush(client, this.id, sending, seq);
        return result;
      });
      const w = last! as TaskWrite;
      this.#counts.committed(w.counts);
      this.#removedAtEnd += w.removed;
      w.committed();
      // Emitted in commit order with the other runtimes' events (see EventOrder).
      this.#order.committed(seq, w.events);
      if (w.due !== Infinity) this.#wakeups.dueAt(w.due);
      if (w.first !== null) this.#cursors.queued(w.first);
      return out;
    })();
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p)).catch(() => undefined);
    return p;
  }

  #assertOpen(): void {
    if (this.#closed) throw new SpindleError('SHUTTING_DOWN', 'the runtime is shutting down; retry once it is back');
  }
}
