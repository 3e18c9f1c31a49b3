import type { RunState } from '../api/states.js';
import type { RunError } from '../api/views.js';
import type { TaskReason, TaskState } from './state.js';

export type { RunState } from '../api/states.js';

/** Stored values carry this version so a later layout can migrate them. */
export const RECORD_VERSION = 1;

/** One transition, as recorded in a task's history. */
export interface HistoryEntry {
  from: TaskState;
  to: TaskState;
  /** The machine event, lower-cased: submit, place, start, succeed, fail, lose, time_out, cancel… */
  event: string;
  at: number;
  reason: TaskReason | null;
}

/** One execution attempt. `run` numbers a task's runs from 1 across all occurrences. */
export interface RunRecord {
  v: number;
  /** The task it is a run of (a task's lastRun is stored without it: see record-codec.ts). */
  taskId: string;
  run: number;
  /** 1-based attempt within its occurrence. */
  attempt: number;
  state: RunState;
  startedAt: number;
  endedAt: number | null;
  durationMs: number | null;
  worker: string | null;
  /** JSON text of the handler's output, kept as text from the worker to the store. */
  output: string | null;
  error: RunError | null;
  progress: number | null;
}

/**
 * The persisted task: the state, the fields the machine's guards read, and what the supervisor
 * needs to schedule it. Times are ms since the epoch; the API turns them into ISO strings.
 */
export interface TaskRecord {
  v: number;
  id: string;
  type: string;
  params: unknown;
  state: TaskState;
  reason: TaskReason | null;
  /** The normalised schedule as compiled at submit (see src/schedule). */
  schedule: unknown;
  recurring: boolean;
  priority: number;
  maxTries: number;
  timeoutMs: number;
  misfire: 'coalesce' | 'skip' | 'all';
  graceMs: number;
  /** Runs started in the current occurrence. */
  tries: number;
  /** Runs started over the task's life. */
  runCount: number;
  /** Occurrences (fire times) consumed so far, for recurring `count`. */
  occurrences: number;
  /** The fire time of the current occurrence. */
  firedAt: number | null;
  /** The current interval of an adaptive `every` in ms (SPEC §4), else null. */
  interval: number | null;
  nextRunAt: number | null;
  paused: boolean;
  key: string | null;
  createdAt: number;
  updatedAt: number;
  endedAt: number | null;
  /** When the retention sweep may delete it (terminal only); null: kept forever or not terminal. */
  expiresAt: number | null;
  lastRun: RunRecord | null;
  /** The newest transitions; older ones are spilled to the store in chunks (the task source does it; see historyChunks). */
  history: HistoryEntry[];
  /** How many history chunks were spilled to the store. */
  historyChunks: number;
  /**
   * Until when the ended task still holds its idempotency key (a resubmit gets this task back);
   * null while live, without a key, or once the key is free.
   */
  keyExpiresAt: number | null;
  /** The key's hold after the end when the submit set its own (`keyRetention`); null: the runtime's. */
  keyRetentionMs: number | null;
}

/**
 * Whether the write that ends the task may delete it: an ended task kept for no time (retention
 * 0) that holds no key. PostgreSQL's store deletes it in that write (what graphile-worker and
 * pg-boss users expect of a finished job: nothing kept); LevelDB's leaves it to the next sweep.
 * Its terminal `task.state` event carries the task as it ended, for whoever waits on it.
 */
export function goneAtEnd(rec: TaskRecord): boolean {
  return rec.endedAt !== null && rec.expiresAt !== null && rec.expiresAt <= rec.endedAt && rec.keyExpiresAt === null;
}
