import type { TaskRecord } from '../../task/record.js';
import { isDispatchable } from '../keys.js';

/** Entries per generation. */
const GENERATION = 10_000;
/** An older generation with records not taken is given up after this long (ms). */
const KEPT_FOR_MS = 5 * 60_000;

/** One generation: a taken entry is null, not deleted (see KeptRecords). */
class Generation {
  readonly map = new Map<string, TaskRecord | null>();
  /** Entries not taken yet. */
  live = 0;
  /** When it became the older generation (monotonic ms). */
  sealedAt = 0;

  take(id: string): TaskRecord | null | undefined {
    const rec = this.map.get(id);
    if (rec != null) {
      this.map.set(id, null);
      this.live--;
    }
    return rec;
  }
}

/**
 * The due tasks one source inserted, by id, kept as their rows hold them until their first update
 * (version 0): the claim that usually comes next takes the record instead of parsing the one it
 * read back (as the LevelDB source keeps a submitted record and changes it in place), and the
 * record writer's cache of its fixed fields (keyed by its schedule object) serves the claim's
 * write too. Each is taken once (the taker changes it in place; a retried transaction parses
 * again): its entry is then null, not deleted, since a map emptied and filled again reallocates
 * its table at each turn (about 1 KB a task).
 *
 * Two generations of GENERATION entries: once the newer is full it becomes the older, but only
 * when the older's records were all taken (claims take the oldest first) or it is older than
 * KEPT_FOR_MS (its rest claimed elsewhere, or cancelled); until then new tasks are not kept.
 */
export class KeptRecords {
  readonly #monotonic: () => number;
  #newer = new Generation();
  #older = new Generation();

  constructor(monotonic: () => number) {
    this.#monotonic = monotonic;
  }

  /** Keeps the records a committed insert wrote of tasks due by `dueBy` (database ms). */
  keep(rows: ReadonlyArray<{ rec: TaskRecord }>, dueBy: number): void {
    for (const { rec } of rows) {
      if (!isDispatchable(rec) || rec.nextRunAt > dueBy) continue;
      if (this.#newer.map.size >= GENERATION) {
        const now = this.#monotonic();
        if (this.#older.live > 0 && now - this.#older.sealedAt < KEPT_FOR_MS) return;
        this.#older = this.#newer;
        this.#older.sealedAt = now;
        this.#newer = new Generation();
      }
      this.#newer.map.set(rec.id, rec);
      this.#newer.live++;
    }
  }

  /** The record of a row at `version`, when it is one kept and not taken yet. */
  take(id: string, version: number): TaskRecord | undefined {
    if (version !== 0) return undefined;
    return this.#newer.take(id) ?? this.#older.take(id) ?? undefined;
  }
}
