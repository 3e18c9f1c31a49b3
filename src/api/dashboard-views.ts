import type { StateCounts } from './runtime-api.js';
import type { TaskView } from './views.js';

/** `GET /api/overview`: one row per type, every figure read from counters or one index entry. */
export interface TypeOverview {
  type: string;
  counts: StateCounts;
  running: number;
  /** The type's concurrency limit; null: none. */
  concurrency: number | null;
  /** Open tasks that are paused. */
  paused: number;
  /** The oldest task still queued (by creation), with when it is due; null when none is queued. */
  oldestQueued: { id: string; createdAt: string; nextRunAt: string | null; paused: boolean } | null;
}

/** `GET /api/search`'s options: each given one narrows the result (newest first). */
export interface SearchOptions {
  /** Ids starting with this (ids are base 36 and begin with their creation time). */
  idPrefix?: string;
  type?: string;
  /** Created at or after / at or before (ISO-8601 instants). */
  from?: string;
  to?: string;
  /** Words a failed task's error holds, every one: its code, the handler's code, its name, its message's words. */
  text?: string;
  limit?: number;
  cursor?: string;
}

export interface SearchPage {
  tasks: TaskView[];
  /** Pass back as `cursor` for the next page; null: nothing more. */
  cursor: string | null;
  /** The page stopped after reading its budget of index entries, not because it was full: ask again with the cursor. */
  partial: boolean;
}
