/** A place in claim order: spindle_tasks_claim's (priority DESC, next_run_at, id). */
export interface ClaimKey {
  priority: number;
  /** next_run_at, database ms. */
  due: number;
  id: string;
}

/**
 * Whether the task at (priority, due, id) is claimed before `than` (fields, not a key: a write
 * asks it of every task it queues). Ids compare bytewise, as the index does (COLLATE "C"; ids are
 * ASCII).
 */
export function claimsBefore(priority: number, due: number, id: string, than: ClaimKey): boolean {
  if (priority !== than.priority) return priority > than.priority;
  if (due !== than.due) return due < than.due;
  return id < than.id;
}

/**
 * Where the next claim of a set of types starts reading the claim index: just after the last task
 * an earlier claim of the same types took, when it took every task it read up to there. A claimed
 * task's entry stays at the index's front until VACUUM, so a claim read from the front steps over
 * the entries of every task claimed since (draining 200,000 tasks, about 1,600 buffers a claim
 * late in the drain, the largest share of the server's time per task); from a cursor it reads
 * only what it takes.
 *
 * A task queued before a cursor would be passed over, so cursors go (the next claim reads from
 * the front) whenever one may be:
 * - this runtime's write queued a task before one (`queued`);
 * - another runtime's write queued any task (its notice says when it is due, not where it is in
 *   claim order), a type was resumed, the listener connection went (notices may be lost: no
 *   cursor until it is back);
 * - at every backstop tick (1-2 s), for a task a claim's SKIP LOCKED passed over while another
 *   transaction held it and that is still queued after it (a transaction rolled back, a
 *   connection ended): such a task waits for the tick at most, as one whose notice was lost does.
 * A claim that read before a reset writes no cursor after it (`epoch`).
 */
export class ClaimCursors {
  readonly #at = new Map<string, ClaimKey>();
  #epoch = 0;
  /** Until the listener connection is up, notices may be lost. */
  #held = true;

  /** Taken when a claim reads its cursors, given back with what it reached. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Where a claim of `types` starts; undefined: from the front. */
  get(types: readonly string[]): ClaimKey | undefined {
    return this.#held ? undefined : this.#at.get(typesKey(types));
  }

  /** A claim of `types` that read its cursor at `epoch` committed, having taken every task up to `reached`. */
  reached(types: readonly string[], reached: ClaimKey, epoch: number): void {
    if (epoch === this.#epoch && !this.#held) this.#at.set(typesKey(types), reached);
  }

  /** This runtime's committed write queued a task at `key`, the first in claim order of those it queued. */
  queued(key: ClaimKey): void {
    for (const cursor of this.#at.values()) {
      if (claimsBefore(key.priority, key.due, key.id, cursor)) return this.reset();
    }
  }

  /** Every claim reads from the front until a claim sets its cursor again. */
  reset(): void {
    this.#epoch++;
    this.#at.clear();
  }

  /** While held (the listener connection is down), no cursor is used or set. */
  hold(held: boolean): void {
    this.#held = held;
    this.reset();
  }
}

/** Types in any order name the same claims. */
function typesKey(types: readonly string[]): string {
  return [...types].sort().join('\n');
}
