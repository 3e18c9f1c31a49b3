import { TERMINAL_STATES } from '../api/states.js';
import type { ClientEvent } from '../client/event-stream.js';

/**
 * Ends kept by default: far more than a replay can repeat. On PostgreSQL a runtime whose listener
 * was down replays the ends of tasks followed by id that came in the last seconds (its outage and
 * a margin), some of which it may already have delivered.
 */
const KEPT = 10_000;

/**
 * The ends a watch has printed, to print each once: a task's move into a terminal state (its task,
 * the move and its instant) and a run's end (task, run, outcome). Other events pass. Memory is
 * bounded: past `kept` ends the oldest are forgotten.
 */
export class SeenEnds {
  readonly #kept: number;
  /** Insertion order is age order: the first key is the oldest. */
  readonly #seen = new Set<string>();

  constructor(kept = KEPT) {
    this.#kept = kept;
  }

  /** False when `ev` is an end already seen; otherwise true, and an end is remembered. */
  first(ev: ClientEvent): boolean {
    const key = endKey(ev);
    if (key === null) return true;
    if (this.#seen.has(key)) return false;
    this.#seen.add(key);
    if (this.#seen.size > this.#kept) this.#seen.delete(this.#seen.values().next().value!);
    return true;
  }
}

function endKey(ev: ClientEvent): string | null {
  if (ev.event === 'task.state') {
    const d = ev.data;
    return TERMINAL_STATES.has(d.to) ? `state\0${d.id}\0${d.from}\0${d.to}\0${d.at}` : null;
  }
  if (ev.event === 'run.ended') return `run\0${ev.data.id}\0${ev.data.run}\0${ev.data.state}`;
  return null;
}
