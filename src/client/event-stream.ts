import type { SpindleEvent } from '../api/events.js';

/**
 * What `client.events()` yields: the runtime's events, plus two notices of its own so a consumer
 * always knows when it may have missed something.
 * - `events.gap`: the connection was lost and restored; events in between were not seen.
 * - `events.dropped`: the consumer fell more than `maxBuffered` events behind; `count` were dropped here.
 */
export type ClientEvent =
  | SpindleEvent
  | { event: 'events.gap'; data: { reason: 'reconnected'; at: string } }
  | { event: 'events.dropped'; data: { count: number; at: string } };

/**
 * A bounded async queue of events for one `for await` consumer. A consumer that stops reading
 * costs at most `maxBuffered` events of memory: newer ones are counted, not kept, and the count
 * is delivered in their place.
 */
export class EventStream implements AsyncIterableIterator<ClientEvent> {
  /** Resolves once the runtime has confirmed the subscription: events from then on are delivered. */
  ready: Promise<void> = Promise.resolve();
  readonly #maxBuffered: number;
  readonly #onClose: () => Promise<void>;
  readonly #buffer: ClientEvent[] = [];
  #waiter: { resolve: (r: IteratorResult<ClientEvent>) => void; reject: (err: unknown) => void } | null = null;
  #done = false;
  #failure: unknown = null;

  constructor(maxBuffered: number, onClose: () => Promise<void>) {
    this.#maxBuffered = maxBuffered;
    this.#onClose = onClose;
  }

  push(ev: ClientEvent): void {
    if (this.#done) return;
    if (this.#waiter !== null) {
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter.resolve({ value: ev, done: false });
      return;
    }
    if (this.#buffer.length < this.#maxBuffered) {
      this.#buffer.push(ev);
      return;
    }
    const last = this.#buffer.at(-1);
    if (last?.event === 'events.dropped') last.data.count++;
    else this.#buffer.push({ event: 'events.dropped', data: { count: 1, at: new Date().toISOString() } });
  }

  /** Ends the stream: buffered events are still delivered, then the error (if any) is thrown. */
  fail(err: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#failure = err;
    if (this.#waiter !== null && this.#buffer.length === 0) {
      const waiter = this.#waiter;
      this.#waiter = null;
      if (err === null) waiter.resolve({ value: undefined, done: true });
      else waiter.reject(err);
    }
  }

  next(): Promise<IteratorResult<ClientEvent>> {
    const ev = this.#buffer.shift();
    if (ev !== undefined) return Promise.resolve({ value: ev, done: false });
    if (this.#done) {
      if (this.#failure === null) return Promise.resolve({ value: undefined, done: true });
      const failure = this.#failure;
      this.#failure = null;
      return Promise.reject(failure);
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Called when a `for await` loop exits early: unsubscribes. */
  async return(): Promise<IteratorResult<ClientEvent>> {
    this.#buffer.length = 0;
    this.fail(null);
    await this.#onClose();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ClientEvent> {
    return this;
  }
}
