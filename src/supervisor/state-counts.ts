import type { StateCounts } from '../store/store.js';
import type { TaskState } from '../task/state.js';
import { TASK_STATES, TERMINAL_STATES } from '../task/state.js';

/**
 * Tasks per type and state, moved as states change (never counted by a scan) and written with
 * the batch that changes them, so a restart reads them back in one range read.
 */
export class StateCountTable {
  #live = new Map<string, StateCounts>();
  #committed = new Map<string, StateCounts>();

  load(counts: Map<string, StateCounts>): void {
    this.#live = new Map([...counts].map(([t, c]) => [t, { ...c }]));
    this.#committed = new Map([...counts].map(([t, c]) => [t, { ...c }]));
  }

  add(type: string, state: TaskState, delta: number): void {
    let c = this.#live.get(type);
    if (c === undefined) {
      c = {};
      this.#live.set(type, c);
    }
    c[state] = (c[state] ?? 0) + delta;
  }

  move(type: string, from: TaskState, to: TaskState): void {
    if (from === to) return;
    if (from !== 'none') this.add(type, from, -1);
    this.add(type, to, 1);
  }

  of(type: string): StateCounts {
    return this.#live.get(type) ?? {};
  }

  /** Tasks of the type that are not terminal yet (for maxQueued). */
  open(type: string): number {
    const c = this.#live.get(type);
    if (c === undefined) return 0;
    let n = 0;
    for (const s of TASK_STATES) if (!TERMINAL_STATES.has(s)) n += c[s] ?? 0;
    return n;
  }

  committed(type: string, counts: StateCounts): void {
    this.#committed.set(type, { ...counts });
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

  /** `{ states, types }` for runtime.stats, with every state present in `states`. */
  summary(): { states: Record<TaskState, number>; types: Record<string, StateCounts> } {
    const states = Object.fromEntries(TASK_STATES.filter((s) => s !== 'none').map((s) => [s, 0])) as Record<TaskState, number>;
    const types: Record<string, StateCounts> = {};
    for (const [type, c] of this.#live) {
      const row: StateCounts = {};
      for (const s of TASK_STATES) {
        const n = c[s] ?? 0;
        if (n === 0) continue;
        row[s] = n;
        states[s] += n;
      }
      types[type] = row;
    }
    return { states, types };
  }
}
