import type { StateCounts } from '../store.js';
import type { TaskState } from '../../task/state.js';
import { TASK_STATES, TERMINAL_STATES } from '../../task/state.js';

/**
 * Tasks per type and state, moved as states change (never counted by a scan). Each batch writes
 * the moves it carries as deltas (the store adds them to its rows), so a restart reads the counts
 * back in one range read and two writers of a shared store would add, not overwrite.
 */
export class StateCountTable {
  #live = new Map<string, StateCounts>();
  #committed = new Map<string, StateCounts>();

  load(counts: Map<string, StateCounts>): void {
    this.#live = new Map([...counts].map(([t, c]) => [t, { ...c }]));
    this.#committed = new Map([...counts].map(([t, c]) => [t, { ...c }]));
  }

  /** Adds to the live counts and to `pending`, the deltas of the batch being built. */
  add(type: string, state: TaskState, delta: number, pending: Map<string, StateCounts>): void {
    addTo(this.#live, type, state, delta);
    addTo(pending, type, state, delta);
  }

  move(type: string, from: TaskState, to: TaskState, pending: Map<string, StateCounts>): void {
    if (from === to) return;
    if (from !== 'none') this.add(type, from, -1, pending);
    this.add(type, to, 1, pending);
  }

  /** Tasks of the type that are not terminal yet (for maxQueued). */
  open(type: string): number {
    const c = this.#live.get(type);
    if (c === undefined) return 0;
    let n = 0;
    for (const s of TASK_STATES) if (!TERMINAL_STATES.has(s)) n += c[s] ?? 0;
    return n;
  }

  /** A batch carrying these deltas was written. */
  committed(deltas: Map<string, StateCounts>): void {
    for (const [type, c] of deltas) for (const [state, n] of Object.entries(c)) addTo(this.#committed, type, state as TaskState, n);
  }

  rollBack(): void {
    this.#live = new Map([...this.#committed].map(([t, c]) => [t, { ...c }]));
  }

  /** Whether the store has ever counted a task of the type. */
  has(type: string): boolean {
    return this.#live.has(type);
  }

  types(): string[] {
    return [...this.#live.keys()];
  }

  /** The live counts, changes not yet written included. */
  all(): ReadonlyMap<string, StateCounts> {
    return this.#live;
  }
}

function addTo(table: Map<string, StateCounts>, type: string, state: TaskState, delta: number): void {
  let c = table.get(type);
  if (c === undefined) {
    c = {};
    table.set(type, c);
  }
  c[state] = (c[state] ?? 0) + delta;
}
