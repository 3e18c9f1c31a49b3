import type { TaskReason, TaskState } from './states.js';
import type { RunError, TaskView } from './views.js';

/**
 * Every event the runtime emits, named `domain.action`. Times are ISO-8601 UTC strings; the same
 * objects go to in-process listeners and, as JSON-RPC notifications, to subscribed clients.
 */
export interface EventMap {
  /**
   * A task changed state. `task`: the task as it ended, on the terminal event of a task kept for
   * no time (retention 0), which may be gone by the time anyone reads it; left out when the event
   * passed between runtimes and would not fit (then `truncated`).
   */
  'task.state': { id: string; type: string; from: TaskState; to: TaskState; reason: TaskReason | null; at: string; task?: TaskView; truncated?: true };
  /** A run started on a worker. */
  'run.started': { id: string; type: string; attempt: number; run: number; startedAt: string };
  /** A handler reported progress (0..1). */
  'run.progress': { id: string; type: string; attempt: number; run: number; progress: number };
  /**
   * A run ended: `state` is the run's outcome, with its output or error. `truncated`: the run
   * ended on another runtime and the event was too large to pass between runtimes, so its output
   * and its error's stack were left out (and a long error message cut); the task has them in full.
   */
  'run.ended': {
    id: string; type: string; attempt: number; run: number; state: string;
    output?: unknown; error?: RunError; truncated?: true;
    startedAt: string; endedAt: string; durationMs: number | null; worker: string | null;
  };
}

export type EventName = keyof EventMap;
export const EVENT_NAMES: readonly EventName[] = ['task.state', 'run.started', 'run.progress', 'run.ended'];

export type SpindleEvent = { [K in EventName]: { event: K; data: EventMap[K] } }[EventName];

export interface EventFilter {
  /** Event names to receive (default: all). */
  types?: readonly EventName[];
  taskId?: string;
  type?: string;
}

export type EventListener = (event: SpindleEvent) => void;
