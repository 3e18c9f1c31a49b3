import type { WriteContext } from '../store/task-source.js';
import type { EventMap } from '../api/events.js';
import { goneAtEnd, type TaskRecord } from '../task/record.js';
import type { Registry } from '../task/registry.js';
import type { GuardInput, TaskEventType, TransitionResult } from '../task/state.js';
import { TASK_EVENTS, TERMINAL_STATES } from '../task/state.js';
import { retryDelay } from '../task/task-options.js';
import { transitionTable } from '../task/transition-table.js';
import { instantText } from './instant-text.js';
import { giveBackTry } from './occurrence.js';
import { taskView } from './task-view.js';

export interface TransitionsOptions {
  registry: Registry;
  /** How long terminal tasks are kept; null keeps them forever. A type may set its own. */
  retentionMs: number | null;
  /** How long an ended task keeps its idempotency key when its submit did not say. */
  keyRetentionMs: number;
  random: () => number;
  /** A task ended: whatever is cached for it may go. */
  ended(rec: TaskRecord): void;
}

/** What a recurring task does next, for the events that may end or continue it. */
export interface NextStep {
  /** The task has another occurrence, due at `nextDue`. */
  hasNext?: boolean;
  nextDue?: number | null;
}

const NO_NEXT: NextStep = Object.freeze({});

/** A machine event as history records it (lower-cased once, not at every transition). */
const HISTORY_EVENT = Object.fromEntries(TASK_EVENTS.map((e) => [e, e.toLowerCase()])) as Record<TaskEventType, string>;

/**
 * The one place a transition is applied to a record: the table derived from the XState machine
 * says where the event leads and which actions run; this carries them out on the record, records
 * the history entry and announces the change once written. Every decision a task source applies
 * goes through `change()`; the source only stores what it did.
 */
export class Transitions {
  readonly #o: TransitionsOptions;
  readonly #table = transitionTable();
  /**
   * The guards' input, filled afresh for each step rather than built per call: guards read it
   * synchronously and keep nothing, and a task takes four steps on its way through.
   */
  readonly #input: GuardInput = { paused: false, tries: 0, maxTries: 0, recurring: false, hasNext: false };

  constructor(options: TransitionsOptions) {
    this.#o = options;
  }

  /** Applies `event` to `rec` in place. Null (and nothing changed) when the machine refuses it. */
  change(rec: TaskRecord, event: TaskEventType, w: WriteContext, next: NextStep = NO_NEXT): TransitionResult | null {
    const input = this.#input;
    input.paused = rec.paused;
    input.tries = rec.tries;
    input.maxTries = rec.maxTries;
    input.recurring = rec.recurring;
    input.hasNext = next.hasNext ?? false;
    const res = this.#table.step(rec.state, event, input);
    if (res === null) return null;
    const now = w.now;
    if (res.to !== res.from) {
      rec.state = res.to;
      rec.reason = res.reason;
    }
    // Indexed, not for-of: the table's arrays are frozen, and for-of over a frozen array took
    // V8's generic iterator (an iterator and a result object per step, for every transition).
    const actions = res.actions;
    for (let i = 0; i < actions.length; i++) {
      switch (actions[i]) {
        case 'incrementTries': rec.tries++; break;
        case 'resetTries': rec.tries = 0; break;
        case 'setPaused': rec.paused = true; break;
        case 'clearPaused': rec.paused = false; break;
        case 'retry': {
          const delay = this.#retryDelayFor(rec);
          rec.nextRunAt = now + delay;
          w.retrying(delay);
          break;
        }
        case 'nextOccurrence': rec.nextRunAt = next.nextDue ?? null; break;
        case 'forceDue': rec.nextRunAt = now; break;
        case 'refundTry': giveBackTry(rec, now); break;
      }
    }
    rec.updatedAt = now;
    if (TERMINAL_STATES.has(res.to) && !TERMINAL_STATES.has(res.from)) this.#ended(rec, now);
    else if (TERMINAL_STATES.has(res.from) && !TERMINAL_STATES.has(res.to)) reopened(rec, now);
    rec.history.push({ from: res.from, to: res.to, event: HISTORY_EVENT[event], at: now, reason: rec.reason });
    if (res.to !== res.from && w.announcing) {
      const data: EventMap['task.state'] = { id: rec.id, type: rec.type, from: res.from, to: res.to, reason: rec.reason, at: instantText(now) };
      if (goneAtEnd(rec) && w.listened !== false) data.task = taskView(rec);
      w.announce({ event: 'task.state', data });
    }
    return res;
  }

  #ended(rec: TaskRecord, now: number): void {
    rec.endedAt = now;
    rec.nextRunAt = null;
    const retention = this.#o.registry.types.get(rec.type)?.retentionMs;
    const keep = retention === undefined ? this.#o.retentionMs : retention;
    rec.expiresAt = keep === null ? null : now + keep;
    rec.keyExpiresAt = this.#keyExpiry(rec, now);
    this.#o.ended(rec);
  }

  /**
   * When an ending task's hold on its key runs out: `now` plus its key retention, but never after
   * the task itself is deleted (`expiresAt`), since a resubmit in the window must get the task back.
   * Null when it has no key or no hold (retention 0): the key is free at once.
   */
  #keyExpiry(rec: TaskRecord, now: number): number | null {
    if (rec.key === null) return null;
    const until = now + (rec.keyRetentionMs ?? this.#o.keyRetentionMs);
    const capped = rec.expiresAt === null ? until : Math.min(until, rec.expiresAt);
    return capped > now ? capped : null;
  }

  #retryDelayFor(rec: TaskRecord): number {
    const type = this.#o.registry.types.get(rec.type);
    return type === undefined ? 0 : retryDelay(rec.tries, type.retry, this.#o.random);
  }
}

/**
 * An ended task queued again (RETRY): live once more, so no end, no retention. Its idempotency key
 * comes back only while its hold lasts; a hold that ran out may already be another task's, so the
 * task goes on without one.
 */
function reopened(rec: TaskRecord, now: number): void {
  rec.endedAt = null;
  rec.expiresAt = null;
  if (rec.keyExpiresAt === null || rec.keyExpiresAt <= now) rec.key = null;
  rec.keyExpiresAt = null;
}
