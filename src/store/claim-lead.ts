/** The range a source's lead is kept in, and where it starts before any claim was measured. */
export interface LeadBounds {
  minMs: number;
  maxMs: number;
  initialMs: number;
}

/** Claims remembered: enough for a high percentile, few enough to follow a disk that slows down. */
const SAMPLES = 64;
/** The lead covers this fraction of recent claims... */
const QUANTILE = 0.95;
/** ...with this margin, for a claim slower than any of them (a claim behind another in flight takes two). */
const MARGIN = 2;
/** Once the window is full the lead is worked out again every this many claims (a sort of 64 numbers). */
const RECOMPUTE_EVERY = 8;

/**
 * How long before a task's due time a source claims it: a claim's start must be written before
 * its run is sent, and a claim made at the due time would send it one write late. Kept from the
 * claims' measured round trips (from asking to written): a high percentile of the recent ones,
 * with a margin, within the source's bounds. A run claimed ahead is held until its due time.
 */
export class ClaimLead {
  readonly #bounds: LeadBounds;
  readonly #samples = new Float64Array(SAMPLES);
  #count = 0;
  #ms: number;

  constructor(bounds: LeadBounds) {
    this.#bounds = bounds;
    this.#ms = bounds.initialMs;
  }

  /** The lead now, in whole ms. */
  get ms(): number {
    return this.#ms;
  }

  /** A claim took `ms` from asking to its start written. */
  observe(ms: number): void {
    this.#samples[this.#count % SAMPLES] = ms;
    this.#count++;
    if (this.#count < SAMPLES || this.#count % RECOMPUTE_EVERY === 0) this.#recompute();
  }

  #recompute(): void {
    const n = Math.min(this.#count, SAMPLES);
    const sorted = this.#samples.slice(0, n).sort();
    const high = sorted[Math.min(n - 1, Math.floor(n * QUANTILE))]!;
    const { minMs, maxMs } = this.#bounds;
    // Whole ms: due times are, and a horizon goes into SQL next to them.
    this.#ms = Math.min(maxMs, Math.max(minMs, Math.ceil(high * MARGIN)));
  }
}
