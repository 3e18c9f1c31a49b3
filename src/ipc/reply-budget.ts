import type { Socket } from 'node:net';

export interface ReplyBudgetOptions {
  /** Unsent bytes (replies reserved plus written) a connection may hold. */
  maxPendingBytes: number;
  /** A client with a full budget that takes no byte of it for this long is not reading. */
  stallTimeoutMs: number;
  /** Called once when the client stalls: the connection should be dropped. */
  onStall: () => void;
}

/**
 * Decides when a request may run, by the room its reply will need in the connection's unsent
 * buffer. Each request reserves what its reply can take before it runs and releases it once the
 * reply is written; a request that does not fit waits until the client reads. So a client that
 * reads, however slowly, gets every reply and is never disconnected for the size of one, while
 * the unsent bytes of a connection stay near the cap. A client that has stopped reading shows no
 * progress while requests wait: after `stallTimeoutMs` it is let go.
 *
 * Counts are in the units of the socket's writableLength (string length for string writes), which
 * is close enough to bytes for a bound.
 */
export class ReplyBudget {
  readonly #socket: Socket;
  readonly #o: ReplyBudgetOptions;
  #reserved = 0;
  #written = 0;
  #waiting: Array<{ cost: number; go: () => void }> = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #flushedAtCheck = 0;
  #closed = false;
  readonly #onDrain = (): void => this.#pump();

  constructor(socket: Socket, options: ReplyBudgetOptions) {
    this.#socket = socket;
    this.#o = options;
    socket.on('drain', this.#onDrain);
  }

  /** Unsent bytes now: written but not taken by the client, plus what running requests reserved. */
  get pending(): number {
    return this.#socket.writableLength + this.#reserved;
  }

  /** Resolves once `cost` bytes are reserved. Nothing pending always admits, so a large reply still goes out. */
  reserve(cost: number): Promise<void> {
    if (this.#waiting.length === 0 && this.#fits(cost)) {
      this.#reserved += cost;
      return Promise.resolve();
    }
    return new Promise((go) => {
      this.#waiting.push({ cost, go });
      this.#watch();
    });
  }

  /** Gives back a reservation; `wrote` is the length just written in its place. */
  release(cost: number, wrote: number): void {
    this.#reserved -= cost;
    this.#written += wrote;
    this.#pump();
  }

  /** Counts a write that reserved nothing (an event). */
  wrote(length: number): void {
    this.#written += length;
  }

  /** Stops the watchdog; waiting requests never run (the connection is gone). Idempotent. */
  close(): void {
    this.#closed = true;
    this.#socket.off('drain', this.#onDrain);
    this.#waiting = [];
    this.#clearTimer();
  }

  #fits(cost: number): boolean {
    const pending = this.pending;
    return pending === 0 || pending + cost <= this.#o.maxPendingBytes;
  }

  #pump(): void {
    while (!this.#closed && this.#waiting.length > 0 && this.#fits(this.#waiting[0]!.cost)) {
      const next = this.#waiting.shift()!;
      this.#reserved += next.cost;
      next.go();
    }
    if (this.#waiting.length === 0) this.#clearTimer();
  }

  /** Bytes the client has taken so far. */
  #flushed(): number {
    return this.#written - this.#socket.writableLength;
  }

  #watch(): void {
    if (this.#timer !== null || this.#closed) return;
    this.#flushedAtCheck = this.#flushed();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#closed || this.#waiting.length === 0) return;
      // Waiting on requests still running (a slow store) is no fault of the client's.
      if (this.#socket.writableLength > 0 && this.#flushed() === this.#flushedAtCheck) {
        this.#o.onStall();
        return;
      }
      this.#pump();
      if (this.#waiting.length > 0) this.#watch();
    }, this.#o.stallTimeoutMs);
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }
}
