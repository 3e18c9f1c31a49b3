import type { SearchOptions, SearchPage, TypeOverview } from './dashboard-views.js';
import type { EventFilter, EventListener } from './events.js';
import type { SeriesView } from './series.js';
import type { TaskState } from './states.js';
import type { HistoryView, RunView, SubmittedView, TaskView } from './views.js';

/** `task.list`'s options: newest first, one state or type, a page after `cursor`. */
export interface ListOptions {
  state?: TaskState;
  type?: string;
  limit?: number;
  cursor?: string;
  /** Only tasks whose pause flag is set (not with `state`). */
  paused?: boolean;
}

/** `task.purge`'s filter: ended tasks of one state, of one type, submitted before an instant. */
export interface PurgeFilter {
  state: 'finished' | 'failed' | 'terminated';
  type?: string;
  /** An ISO-8601 instant: only tasks submitted before it. */
  before?: string;
}

/** `task.purge` without `confirm`: how many it would delete, and the token that makes it act. */
export interface PurgePreview {
  filter: PurgeFilter;
  count: number;
  /** Send it back with the same filter to delete; single use. */
  confirm: string;
  expiresAt: string;
}

/** `task.purge` with `confirm`: what it deleted (never more than the count confirmed). */
export interface PurgeResult {
  filter: PurgeFilter;
  deleted: number;
  /** Tasks that no longer matched (retried meanwhile, or already gone). */
  skipped: number;
}

/** `runtime.stats`: tasks per state (overall and per type), the pools, the due window. */
export interface Stats {
  states: Record<string, number>;
  types: Record<string, Record<string, number>>;
  workers: { mode: string; size: number; busy: number };
  pools: Array<{ mode: string; size: number; busy: number }>;
  window: { size: number; complete: boolean };
  /** Types an operator paused: their due tasks are not started. */
  pausedTypes: string[];
  swept: number;
  uptimeMs: number;
}

/** Tasks in each state (of one type, or of all). */
export type StateCounts = Partial<Record<TaskState, number>>;

/** A task type as `type.list` shows it: its name and resolved defaults. */
export interface TypeInfo {
  name: string;
  description: string | null;
  file: string;
  params: unknown;
  timeoutMs: number;
  maxTries: number;
  retry: { delayMs: number; backoff: number; maxDelayMs: number; jitter: number };
  concurrency: number | null;
  priority: number;
  maxQueued: number | null;
  isolation: string | null;
  retentionMs: number | null | undefined;
  /** Paused by an operator (`pause-type`): its due tasks are not started. */
  paused: boolean;
}

/** What `spindle repair` reports of a store it repaired. */
export interface RepairReport {
  path: string;
  /** Tasks per state as the store's counters had them before the repair; null if unreadable. */
  before: StateCounts | null;
  /** Tasks per state found in the repaired store, counted record by record. */
  after: StateCounts;
  /** The same per type, as now written to the counters. */
  types: Record<string, StateCounts>;
  /** Task records too damaged to read, removed. */
  unreadable: number;
  /** Table files LevelDB could not read and moved aside into `lostDir` (kept, not deleted). */
  lostFiles: string[];
  lostDir: string;
}

export type RuntimeStatus = 'running' | 'stopping' | 'stopped';

/**
 * The runtime as its servers see it: what the IPC server's methods and the HTTP routes call. The
 * servers depend on this, not on the Runtime class, so they never import the composition root
 * that builds them.
 */
export interface RuntimeApi {
  readonly status: RuntimeStatus;
  /** The runtime's clock: "now" for schedule previews and bulk confirmations. */
  readonly options: { readonly clock: { now(): number } };
  readonly log: { error(fields: object, message: string): void };
  submit(input: unknown): Promise<SubmittedView>;
  /** Submits all or none, in one atomic write. */
  submitMany(inputs: readonly unknown[]): Promise<SubmittedView[]>;
  get(id: string): Promise<TaskView>;
  list(options?: ListOptions): Promise<{ tasks: TaskView[]; cursor: string | null }>;
  pending(options?: { type?: string; limit?: number }): Promise<TaskView[]>;
  cancel(id: string): Promise<TaskView>;
  pause(id: string): Promise<TaskView>;
  resume(id: string): Promise<TaskView>;
  runNow(id: string): Promise<TaskView>;
  /** Queues a failed or terminated task again: fresh tries, due now, its history kept. */
  retry(id: string): Promise<TaskView>;
  /** Deletes an ended task with its runs and history. */
  delete(id: string): Promise<{ id: string; deleted: true }>;
  /** Without `confirm`: the count and a token; with it: deletes the ended tasks the filter matches. */
  purge(request: PurgeFilter & { confirm?: string }): Promise<PurgePreview | PurgeResult>;
  /** A recurring task's new schedule, from its next occurrence on (a run in flight finishes). */
  reschedule(id: string, schedule: unknown): Promise<TaskView>;
  /** Stops starting tasks of the type (stored: a restart keeps it); runs in flight finish. */
  pauseType(type: string): Promise<TypeInfo>;
  resumeType(type: string): Promise<TypeInfo>;
  /** A task's runs in order; a long history comes in parts: pass the last run number as `after`. */
  runs(id: string, after?: number): Promise<RunView[]>;
  /** A task's transitions in order; a long history comes in parts: pass how many you have as `after`. */
  history(id: string, after?: number): Promise<HistoryView[]>;
  stats(): Stats;
  types(): TypeInfo[];
  /** Per type: counts, running against concurrency, paused, the oldest queued task (counters and index reads only). */
  overview(): Promise<TypeOverview[]>;
  /** Runs per minute (started, finished, failed, run and wait p50/p95) of a type or of all, over `range` (1h, 24h). */
  series(options: { type?: string; range?: string }): Promise<SeriesView>;
  /** Tasks by id prefix, type, creation time and error words, from the store's indexes (never a scan). */
  search(options: SearchOptions): Promise<SearchPage>;
  /** Listens to events (SPEC §6); returns the function that stops listening. */
  subscribe(filter: EventFilter, listener: EventListener): () => void;
  /** Graceful stop (SPEC §5); `graceMs` defaults to the runtime's grace option. */
  stop(graceMs?: number): Promise<void>;
}
