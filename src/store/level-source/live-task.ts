import type { TaskRecord } from '../../task/record.js';

/**
 * A task the supervisor holds in memory: one that is running, in the due window, or changed and
 * not yet written. Every other task lives only in the store.
 */
export interface LiveTask {
  rec: TaskRecord;
  /** The version the last sent batch wrote (what the store holds once in-flight batches land). */
  base: TaskRecord | null;
  /** The version the store is known to hold; null for a task no batch has written yet. */
  committed: TaskRecord | null;
  /** Changed since the last batch was sent. */
  dirty: boolean;
  /** Batches sent but not yet acknowledged that carry this task. */
  inFlight: number;
  /** In the due window (its entry in the due heaps is valid while this holds the same value). */
  dueToken: number;
  /** Control calls waiting on it; it stays in memory while any does. */
  pins: number;
}

/** `stored`: the record came from the store, so its copy is both the base and the committed version. */
export function newLive(rec: TaskRecord, { stored }: { stored: boolean }): LiveTask {
  // A copy, never `rec` itself: `rec` is changed in place, the committed image must not move with it.
  const image = stored ? copyRecord(rec) : null;
  return { rec, base: image, committed: image, dirty: false, inFlight: 0, dueToken: 0, pins: 0 };
}

/** A copy to write or to roll back to; the supervisor replaces nested objects, never mutates them. */
export function copyRecord(rec: TaskRecord): TaskRecord {
  return { ...rec, history: rec.history.slice() };
}
