import type { RunError } from '../executor/executor.js';
import type { TaskReason, TaskState } from '../task/state.js';

/**
 * Every event the runtime emits, named `domain.action`. Times are ISO-8601 UTC strings; the same
 * objects go to in-process listeners and, as JSON-RPC notifications, to subscribed clients.
 */
export interface EventMap {
  /** A task changed state. */
  'task.state': { id: string; type: string; from: TaskState; to: TaskState; reason: TaskReason | null; at: string };
  /** A run started on a worker. */
  'run.started': { id: string; type: string; attempt: number; run: number; startedAt: string };
  /** A handler reported progress (0..1). */
  'run.progress': { id: string; type: string; attempt: number; run: number; progress: number };
  /** A run ended: `state` is the run's outcome, with its output or error. */
  'run.ended': {
    id: string; type: string; attempt: number; run: number; state: string;
    output?: unknown; error?: RunError;
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

interface Subscription {
  filter: EventFilter;
  listener: EventListener;
}

/**
 * Fans events out to subscribers. Callers ask `wants()` before building an event, so nothing is
 * allocated on the hot path while nobody listens.
 */
export class EventBus {
  readonly #subs = new Set<Subscription>();
  readonly #onError: (err: unknown) => void;

  constructor(onError: (err: unknown) => void) {
    this.#onError = onError;
  }

  get active(): boolean {
    return this.#subs.size > 0;
  }

  subscribe(filter: EventFilter, listener: EventListener): () => void {
    const sub = { filter, listener };
    this.#subs.add(sub);
    return () => this.#subs.delete(sub);
  }

  emit(event: SpindleEvent): void {
    const data = event.data as { id: string; type: string };
    for (const { filter, listener } of this.#subs) {
      if (filter.types && !filter.types.includes(event.event)) continue;
      if (filter.taskId !== undefined && filter.taskId !== data.id) continue;
      if (filter.type !== undefined && filter.type !== data.type) continue;
      // A listener's fault is its own: it must not break the supervisor or other listeners.
      try {
        listener(event);
      } catch (err) {
        this.#onError(err);
      }
    }
  }
}
