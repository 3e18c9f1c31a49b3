import type { Logger } from 'pino';
import type pg from 'pg';
import type { Clock, Timer } from '../../clock.js';
import type { PgDatabase } from './pg-database.js';
import type { SpindleEvent } from '../../api/events.js';
import { CHANNEL, parsePayload } from './notices.js';

export interface WakeupsOptions {
  db: PgDatabase;
  clock: Clock;
  log: Logger;
  /** This runtime's id: its own notices are skipped (it acted on them at commit), but for its events' place in the order. */
  me: string;
  /** Claim again. */
  wake(): void;
  /** The claim lead (ms): a due time wakes this much ahead, so that the claim is written by then. */
  leadMs(): number;
  /** A notice asks a run to stop. */
  abort(notice: { owner: string; taskId: string; run: number }): void;
  /** Another runtime's transaction made a task due (its place in claim order not said). */
  queuedElsewhere(): void;
  /** An operator paused or resumed a type. */
  typePauses(): void;
  /** The backstop's tick (1–2 s apart): besides a wake, whatever needs looking at now and then. */
  tick(): void;
  /** The listener connection is up and LISTENing (again); notices are heard from now on. */
  connected(client: pg.Client): void;
  /** The listener connection is gone. */
  disconnected(): void;
  /** Another runtime's listeners came (its notice). */
  watching(): void;
  /** Whether anyone here listens to events (else other runtimes' events are not even parsed). */
  listening(): boolean;
  /** Events another runtime's transaction announced, in the order it announced them. */
  events(events: readonly SpindleEvent[]): void;
  /** This runtime's transaction `seq` (see EventOrder) came back: it committed before what comes next. */
  heard(seq: number): void;
  /**
   * The listener was down: notices sent since `since` (database ms, the last sign of life of the
   * old connection, less a margin) may never come.
   */
  missed(since: number): void;
}

const POLL_MIN_MS = 1000;
const POLL_JITTER_MS = 1000;
/** The longest a tick keeps another runtime waiting: what a notice lost with a connection costs at most. */
export const POLL_MAX_MS = POLL_MIN_MS + POLL_JITTER_MS;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;
/** How long the best clock sample is kept before a later, worse one may replace it. */
const OFFSET_KEPT_MS = 10_000;
/**
 * How much older than the last notice received a transaction may be and still not have been heard:
 * `now` is a transaction's start, and notices come in commit order.
 */
export const MISSED_MARGIN_MS = 10_000;

/**
 * When to claim: at once when a notice (LISTEN on one dedicated connection) or this runtime's own
 * commit makes a task due; by a timer at the next due time the index or a notice names; and, as a
 * backstop for a notice lost with a connection, every 1–2 s (jittered, so runtimes started together
 * do not poll together). Due times are the database's: a timer is set by the database's clock,
 * estimated from the instants transactions report against this runtime's monotonic clock, so a
 * runtime whose wall clock is off waits as long as any other. The same connection hears the other
 * runtimes' events; when it was down, what it may have missed is said once it is back.
 */
export class Wakeups {
  readonly #o: WakeupsOptions;
  #listener: pg.Client | null = null;
  #reconnectMs = RECONNECT_MIN_MS;
  #reconnectTimer: Timer | null = null;
  #pollTimer: Timer | null = null;
  #dueTimer: Timer | null = null;
  #dueAt = Infinity;
  /** The database's clock minus this monotonic one: the largest recent sample (the least delayed by the round trip). */
  #offset: number;
  #offsetAt = -Infinity;
  /** The last sign the listener connection was up (database ms): its LISTEN, or a notice. */
  #heardAt = -Infinity;
  /** Since when notices may have been missed (database ms), while the listener is down. */
  #missedSince: number | null = null;
  #wakeQueued = false;
  #closed = false;

  constructor(options: WakeupsOptions) {
    this.#o = options;
    // Until a transaction has answered, this runtime's wall clock is the guess.
    this.#offset = options.clock.now() - options.clock.monotonic();
  }

  async start(): Promise<void> {
    await this.#listen();
    this.#poll();
  }

  close(): void {
    this.#closed = true;
    const clock = this.#o.clock;
    for (const t of [this.#pollTimer, this.#dueTimer, this.#reconnectTimer]) if (t !== null) clock.clearTimer(t);
    const listener = this.#listener;
    this.#listener = null;
    void listener?.end().catch(() => undefined);
  }

  /**
   * A transaction that started at `dbNow` (database ms) has just answered. The sample is late by the
   * round trip at most, never early, so the largest in a while is the best; an older best gives way
   * after a while, in case the database's clock was set. This runtime's wall clock plays no part.
   */
  observed(dbNow: number): void {
    const at = this.#o.clock.monotonic();
    const offset = dbNow - at;
    if (offset >= this.#offset || at - this.#offsetAt > OFFSET_KEPT_MS) {
      this.#offset = offset;
      this.#offsetAt = at;
    }
  }

  /** The database's time now, as this runtime estimates it. */
  dbNow(): number {
    return this.#o.clock.monotonic() + this.#offset;
  }

  /** A task is due at `due` (database ms): wake now, or the claim lead before it. */
  dueAt(due: number): void {
    if (this.#closed) return;
    const delay = due - this.#o.leadMs() - this.dbNow();
    if (delay <= 0) {
      this.wakeSoon();
      return;
    }
    if (due >= this.#dueAt) return;
    const clock = this.#o.clock;
    if (this.#dueTimer !== null) clock.clearTimer(this.#dueTimer);
    this.#dueAt = due;
    this.#dueTimer = clock.setTimer(() => {
      this.#dueTimer = null;
      this.#dueAt = Infinity;
      this.#o.wake();
    }, delay);
  }

  /** One wake for a burst of reasons. */
  wakeSoon(): void {
    if (this.#wakeQueued || this.#closed) return;
    this.#wakeQueued = true;
    queueMicrotask(() => {
      this.#wakeQueued = false;
      if (!this.#closed) this.#o.wake();
    });
  }

  #poll(): void {
    if (this.#closed) return;
    this.#pollTimer = this.#o.clock.setTimer(() => {
      this.#pollTimer = null;
      if (this.#closed) return;
      this.#o.wake();
      this.#o.tick();
      this.#poll();
    }, POLL_MIN_MS + Math.random() * POLL_JITTER_MS);
    this.#pollTimer.unref?.();
  }

  async #listen(): Promise<void> {
    const client = this.#o.db.client();
    this.#listener = client;
    client.on('notification', (msg) => this.#notified(msg.payload));
    // A broken connection is replaced; meanwhile the poll stands in for the notices.
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, null));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      this.#lost(client, err);
      return;
    }
    this.#reconnectMs = RECONNECT_MIN_MS;
    this.#heardAt = this.dbNow();
    this.#o.connected(client);
    // Notices sent while no one listened are gone: look now.
    this.wakeSoon();
    if (this.#missedSince !== null) {
      const since = this.#missedSince;
      this.#missedSince = null;
      this.#o.missed(since);
    }
  }

  #lost(client: pg.Client, err: unknown): void {
    if (this.#closed || this.#listener !== client) return;
    this.#listener = null;
    this.#o.disconnected();
    this.#missedSince ??= this.#heardAt - MISSED_MARGIN_MS;
    if (err !== null) this.#o.log.warn({ err }, 'the database listener connection failed; reconnecting');
    void client.end().catch(() => undefined);
    const delay = this.#reconnectMs;
    this.#reconnectMs = Math.min(RECONNECT_MAX_MS, this.#reconnectMs * 2);
    this.#reconnectTimer = this.#o.clock.setTimer(() => {
      this.#reconnectTimer = null;
      void this.#listen();
    }, delay);
  }

  #notified(payload: string | undefined): void {
    this.#heardAt = this.dbNow();
    const parsed = parsePayload(payload, this.#o.me, this.#o.listening);
    if (parsed === null) return;
    if ('own' in parsed) {
      this.#o.heard(parsed.own);
      return;
    }
    if (parsed.events !== null) {
      this.#o.events(parsed.events);
      return;
    }
    for (const n of parsed.notices) {
      if ('due' in n) {
        this.#o.queuedElsewhere();
        this.dueAt(n.due);
      } else if ('typePauses' in n) this.#o.typePauses();
      else if ('watching' in n) this.#o.watching();
      else if (n.abort.owner === this.#o.me) this.#o.abort(n.abort);
    }
  }
}
