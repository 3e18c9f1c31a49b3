/**
 * A run's abort, with its AbortSignal made only when something asks for it: the handler reading
 * ctx.signal, or the run's wait for its due time. An AbortController cost a thread worker more
 * than the rest of a no-op run together (measured at about 3.8 µs a run, its garbage included),
 * and most handlers never look at their signal. A signal made after the abort is made aborted,
 * with the same reason, as it would be had it been made at the start.
 */
export class RunAbort {
  #controller: AbortController | null = null;
  #aborted = false;
  #reason: unknown = undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** The first abort counts, as for an AbortController. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
