import type { Logger } from 'pino';
import type { Clock, Timer } from '../clock.js';
import type { TaskSource } from '../store/task-source.js';

export interface RetentionOptions {
  source: TaskSource;
  clock: Clock;
  log: Logger;
  intervalMs: number;
  batch: number;
}

/**
 * The retention sweep's timing: the source deletes a small batch of tasks past their retention
 * (and frees keys whose hold ran out); a full batch is followed by the next at once, else the
 * sweep waits its interval.
 */
export class Retention {
  readonly #o: RetentionOptions;
  #timer: Timer | null = null;
  #sweeping = false;
  #stopped = false;
  #swept = 0;

  constructor(options: RetentionOptions) {
    this.#o = options;
  }

  /** Tasks deleted since start. */
  get swept(): number {
    return this.#swept;
  }

  start(): void {
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) this.#o.clock.clearTimer(this.#timer);
    this.#timer = null;
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = this.#o.clock.setTimer(() => void this.#sweep(), delay);
    this.#timer.unref?.();
  }

  async #sweep(): Promise<void> {
    if (this.#sweeping || this.#stopped) return;
    this.#sweeping = true;
    let more = false;
    try {
      const { removed, more: full } = await this.#o.source.sweep(this.#o.batch);
      this.#swept += removed;
      more = full;
    } catch (err) {
      this.#o.log.error({ err }, 'retention sweep failed; will try again');
    } finally {
      this.#sweeping = false;
    }
    this.#schedule(more ? 0 : this.#o.intervalMs);
  }
}
