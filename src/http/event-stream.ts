import type { ServerResponse } from 'node:http';
import type { EventFilter, SpindleEvent } from '../api/events.js';
import { COMMON_HEADERS } from './status.js';

/**
 * One `GET /events` stream: the runtime's events as server-sent events (`event: task.state`,
 * `data: {…}`). A reader that does not keep up costs at most `maxPendingBytes` (plus one event):
 * past that, events are counted instead of queued, and once the reader has taken what was
 * queued it gets `event: dropped` with `{ count, at }` before the next event. The gap is its to
 * handle (re-read what it shows). Unlike the socket, the stream is not cut: the dashboard stays.
 */
export class EventStream {
  readonly #res: ServerResponse;
  readonly #maxPendingBytes: number;
  readonly #unsubscribe: () => void;
  #dropped = 0;
  /** Events dropped over the stream's life, for tests and the log. */
  droppedTotal = 0;
  #open = true;

  constructor(res: ServerResponse, subscribe: (filter: EventFilter, listener: (ev: SpindleEvent) => void) => () => void, filter: EventFilter, maxPendingBytes: number) {
    this.#res = res;
    this.#maxPendingBytes = maxPendingBytes;
    res.writeHead(200, { ...COMMON_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    // `ready` first: a page (re)connecting knows events flow from here, and re-reads what it shows.
    res.write(`retry: 2000\nevent: ready\ndata: ${JSON.stringify({ at: new Date().toISOString() })}\n\n`);
    res.on('drain', () => this.#drained());
    res.on('close', () => this.close());
    this.#unsubscribe = subscribe(filter, (ev) => this.#send(ev));
  }

  /** Bytes written to the stream and not yet taken by the kernel. */
  get pendingBytes(): number {
    return this.#res.writableLength;
  }

  /** Keeps proxies and dead-peer detection happy; a comment line, ignored by EventSource. */
  ping(): void {
    if (this.#open && this.#dropped === 0 && this.#res.writableLength <= this.#maxPendingBytes) this.#res.write(': ping\n\n');
  }

  /** Ends the stream (stop, or the reader went away). Idempotent. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#unsubscribe();
    if (!this.#res.writableEnded) this.#res.end();
  }

  #send(ev: SpindleEvent): void {
    if (!this.#open) return;
    if (this.#dropped > 0 || this.#res.writableLength > this.#maxPendingBytes) {
      this.#dropped++;
      this.droppedTotal++;
      return;
    }
    this.#res.write(`event: ${ev.event}\ndata: ${JSON.stringify(ev.data)}\n\n`);
  }

  /** The reader took everything queued: tell it what it missed, then carry on. */
  #drained(): void {
    if (!this.#open || this.#dropped === 0) return;
    const count = this.#dropped;
    this.#dropped = 0;
    this.#res.write(`event: dropped\ndata: ${JSON.stringify({ count, at: new Date().toISOString() })}\n\n`);
  }
}
