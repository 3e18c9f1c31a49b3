import type { EventFilter, EventListener, SpindleEvent } from '../api/events.js';


interface Subscription {
  filter: EventFilter;
  listener: EventListener;
}

/**
 * Fans events out to subscribers. Callers ask `active` before building an event, so nothing is
 * allocated on the hot path while nobody listens; `onActive` hears when that changes (the first
 * subscriber came, or the last left), for a source that tells other runtimes.
 */
export class EventBus {
  readonly #subs = new Set<Subscription>();
  readonly #onError: (err: unknown) => void;
  readonly #onActive: (active: boolean) => void;

  constructor(onError: (err: unknown) => void, onActive: (active: boolean) => void = () => undefined) {
    this.#onError = onError;
    this.#onActive = onActive;
  }

  get active(): boolean {
    return this.#subs.size > 0;
  }

  /** The task ids subscribers follow one by one (a waiter's filter). */
  watchedTasks(): string[] {
    const ids = new Set<string>();
    for (const { filter } of this.#subs) if (filter.taskId !== undefined) ids.add(filter.taskId);
    return [...ids];
  }

  subscribe(filter: EventFilter, listener: EventListener): () => void {
    const sub = { filter, listener };
    this.#subs.add(sub);
    if (this.#subs.size === 1) this.#onActive(true);
    return () => {
      if (this.#subs.delete(sub) && this.#subs.size === 0) this.#onActive(false);
    };
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
