import type { Logger } from 'pino';
import type pg from 'pg';
import type { Clock, Timer } from '../../clock.js';
import type { PgDatabase } from './pg-database.js';
import { CHANNEL } from './notices.js';

export interface WatchersOptions {
  db: PgDatabase;
  clock: Clock;
  log: Logger;
  /** This runtime's id, the sender of its notices. */
  me: string;
  /** This runtime's lock was taken and its notice sent: every other runtime knows within LEARN_MS (replays.ts). */
  taken(): void;
}

/**
 * The shared advisory lock a runtime holds on its listener connection while it has listeners: two
 * int4 keys (pg_locks: classid, objid, objsubid 2), class 4 (1 is an idempotency key's, 2 a
 * limited type's, 3 the retention sweep's) and 0. Exported for the tests, which hold it exclusively
 * to keep a runtime from taking it.
 */
export const WATCHERS_LOCK = [4, 0] as const;
const [LOCK_CLASS, LOCK_OBJECT] = WATCHERS_LOCK;
/** How long this runtime's listeners must all have been gone before it says so: a CLI command subscribing again and again does not flap. */
export const IDLE_MS = 5000;

const TAKE = `SELECT pg_advisory_lock_shared(${LOCK_CLASS}, ${LOCK_OBJECT}), pg_notify($1, $2)`;
const RELEASE = `SELECT pg_advisory_unlock_shared(${LOCK_CLASS}, ${LOCK_OBJECT})`;
const ANYONE = `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND classid = ${LOCK_CLASS} AND objid = ${LOCK_OBJECT} AND objsubid = 2 AND mode = 'ShareLock' AND granted) AS anyone`;

/**
 * Whether any runtime on the database has listeners, so that transactions carry events only then:
 * PostgreSQL commits the transactions that notify one at a time, which costs throughput. A runtime
 * with listeners holds a shared session-level advisory lock on its listener connection (gone with
 * the connection or the process, taken again after a reconnect) and says so in a notice when it
 * takes it; every runtime believes a notice at once and reads the lock again on every poll tick.
 * A sender learns of a new watcher after the notice's trip, or a poll tick if the notice was lost:
 * events of transactions begun before then are not sent (the source replays waited-for ends).
 */
export class Watchers {
  readonly #o: WatchersOptions;
  /** The listener connection, while it is up. */
  #listener: pg.Client | null = null;
  /** This runtime has listeners (or lost its last ones less than IDLE_MS ago). */
  #wanted = false;
  /** The connection this runtime's lock was taken on (null: not held). */
  #held: pg.Client | null = null;
  #idleTimer: Timer | null = null;
  /** Someone on the database watches, as last heard or read. */
  #someone = true;
  /** Notices heard so far: a read begun before the latest one is stale. */
  #heard = 0;
  #reading = false;
  #closed = false;

  constructor(options: WatchersOptions) {
    this.#o = options;
  }

  /** Whether a transaction must carry its events: while the listener is down a watcher's notice may be missed, so yes. */
  get watched(): boolean {
    return this.#listener === null || this.#someone || this.#wanted;
  }

  /** This runtime's listeners came (the first subscribed) or all left. */
  listening(active: boolean): void {
    if (this.#closed) return;
    const clock = this.#o.clock;
    if (active) {
      if (this.#idleTimer !== null) clock.clearTimer(this.#idleTimer);
      this.#idleTimer = null;
      if (this.#wanted) return;
      this.#wanted = true;
      this.#someone = true;
      this.#sync();
      return;
    }
    if (!this.#wanted || this.#idleTimer !== null) return;
    this.#idleTimer = clock.setTimer(() => {
      this.#idleTimer = null;
      this.#wanted = false;
      this.#sync();
    }, IDLE_MS);
    this.#idleTimer.unref?.();
  }

  /** The listener connection is up (LISTEN done): the lock is taken on it if wanted, and read. */
  connected(client: pg.Client): void {
    this.#listener = client;
    this.#sync();
    void this.refresh();
  }

  /** The listener connection is gone, and the lock with it. */
  disconnected(): void {
    this.#listener = null;
    this.#held = null;
  }

  /** Another runtime took the lock (its notice). */
  heard(): void {
    this.#heard++;
    this.#someone = true;
  }

  /** Reads whether anyone holds the lock (the poll tick). */
  async refresh(): Promise<void> {
    if (this.#reading || this.#closed) return;
    this.#reading = true;
    const heard = this.#heard;
    try {
      const rows = await this.#o.db.query<{ anyone: boolean }>(ANYONE);
      // A notice heard while the read was on its way is newer than what it read.
      if (heard === this.#heard) this.#someone = rows[0]!.anyone;
    } catch (err) {
      this.#someone = true;
      this.#o.log.debug({ err }, 'reading whether any runtime watches failed; announcing meanwhile');
    } finally {
      this.#reading = false;
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#idleTimer !== null) this.#o.clock.clearTimer(this.#idleTimer);
    this.#idleTimer = null;
  }

  /** Takes or releases this runtime's lock so that it is held exactly while wanted (queries on one connection run in order). */
  #sync(): void {
    const client = this.#listener;
    if (client === null || this.#closed) return;
    if (this.#wanted && this.#held !== client) {
      this.#held = client;
      const payload = JSON.stringify({ from: this.#o.me, notices: [{ watching: true }] });
      client.query(TAKE, [CHANNEL, payload]).then(() => {
        if (this.#held === client) this.#o.taken();
      }, (err: unknown) => {
        if (this.#held === client) this.#held = null;
        // The connection failing is the usual cause: its replacement takes the lock.
        this.#o.log.debug({ err }, 'taking the watchers lock failed');
      });
    } else if (!this.#wanted && this.#held === client) {
      this.#held = null;
      client.query(RELEASE).then(() => this.refresh(), (err: unknown) => this.#o.log.debug({ err }, 'releasing the watchers lock failed'));
    }
  }
}
