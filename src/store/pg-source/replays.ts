import type { Logger } from 'pino';
import type { SpindleEvent } from '../../api/events.js';
import type { Clock, Timer } from '../../clock.js';
import { TERMINAL_STATES } from '../../task/state.js';
import type { SourceSignals, TaskReader } from '../task-source.js';
import { POLL_MAX_MS } from './wakeups.js';

export interface ReplaysOptions {
  reader: TaskReader;
  clock: Clock;
  log: Logger;
  /** This runtime's listeners (null before the source starts). */
  signals(): SourceSignals | null;
}

/**
 * How long after this runtime took its watchers lock (and sent its notice) every other runtime
 * knows it: the notice's trip, or a poll tick when the notice was lost, and a transaction that had
 * already decided to send no events committing.
 */
export const LEARN_MS = POLL_MAX_MS + 1000;

/** Ends remembered as emitted: far more than the tasks followed by id that one replay reads. */
const ENDS_KEPT = 10_000;

/**
 * The ends of tasks followed by id (a waiter) that this runtime may not have heard: while its
 * listener was down, or before the other runtimes knew it listens. Each such task that ended since
 * a given instant gets its last task.state again, read from its record, so a wait sees the end;
 * no other event is replayed. An end this runtime's listeners already had is not repeated, so none
 * of them sees one twice.
 */
export class Replays {
  readonly #o: ReplaysOptions;
  #due: { since: number; timer: Timer } | null = null;
  /** The ends emitted here lately (task id and instant), oldest first; at most ENDS_KEPT. */
  readonly #emittedEnds = new Set<string>();

  constructor(options: ReplaysOptions) {
    this.#o = options;
  }

  /** Events emitted to this runtime's listeners: an end among them needs no replay. */
  emitted(events: readonly SpindleEvent[]): void {
    for (const ev of events) {
      if (ev.event !== 'task.state' || !TERMINAL_STATES.has(ev.data.to)) continue;
      this.#emittedEnds.add(endKey(ev.data.id, ev.data.at));
      if (this.#emittedEnds.size > ENDS_KEPT) this.#emittedEnds.delete(this.#emittedEnds.values().next().value!);
    }
  }

  /** Replays once LEARN_MS has passed (one replay for a burst, from the earliest instant asked). */
  later(since: number): void {
    const clock = this.#o.clock;
    const due = this.#due;
    if (due !== null) clock.clearTimer(due.timer);
    const from = Math.min(since, due?.since ?? Infinity);
    const timer = clock.setTimer(() => {
      this.#due = null;
      void this.now(from);
    }, LEARN_MS);
    timer.unref?.();
    this.#due = { since: from, timer };
  }

  /** Replays the ends since `since` (database ms) now. */
  async now(since: number): Promise<void> {
    const signals = this.#o.signals();
    const ids = signals !== null && signals.listening() ? signals.watchedTasks() : [];
    if (ids.length === 0) return;
    try {
      const recs = await this.#o.reader.getMany(ids);
      let replayed = 0;
      for (const rec of recs) {
        if (rec === undefined || !TERMINAL_STATES.has(rec.state)) continue;
        const entry = rec.history.findLast((h) => h.from !== h.to);
        if (entry === undefined || entry.at < since || !TERMINAL_STATES.has(entry.to)) continue;
        const at = new Date(entry.at).toISOString();
        if (this.#emittedEnds.has(endKey(rec.id, at))) continue;
        const event: SpindleEvent = { event: 'task.state', data: { id: rec.id, type: rec.type, from: entry.from, to: entry.to, reason: entry.reason, at } };
        this.emitted([event]);
        signals!.emit(event);
        replayed++;
      }
      this.#o.log.info({ followed: ids.length, replayed }, 'replayed the ends of tasks followed by id that this runtime may have missed');
    } catch (err) {
      this.#o.log.warn({ err }, 'reading the tasks followed by id, for ends that may not have been heard, failed');
    }
  }

  close(): void {
    if (this.#due !== null) this.#o.clock.clearTimer(this.#due.timer);
    this.#due = null;
  }
}

const endKey = (taskId: string, at: string): string => `${taskId}\0${at}`;
