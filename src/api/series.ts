/**
 * Per-minute run counters (what the dashboard's charts draw), as the store keeps them and the
 * API returns them. A fixed set of buckets stands in for a quantile sketch: rows from several
 * writers, minutes or types add up bucket by bucket, and p50/p95 read off the cumulative counts
 * are within one bucket of the truth (the buckets are roughly ×2.5 apart).
 */

/** Upper bounds (ms, inclusive) of the histogram buckets; a last bucket holds everything above. */
export const BUCKET_BOUNDS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000, 1_800_000];

export interface Histogram {
  /** Values counted. */
  n: number;
  /** Their sum in ms. */
  sum: number;
  /** Counts per bucket: BUCKET_BOUNDS_MS.length + 1 entries. */
  b: number[];
}

/** One type's runs in one minute. */
export interface MinuteCounts {
  /** Runs started. */
  started: number;
  /** Runs ended, by outcome (the run's state: finished, failed, timeout, lost, cancelled, interrupted). */
  ended: Record<string, number>;
  /** Run time of the runs that ended with a known duration. */
  run: Histogram;
  /** Wait of the runs that started: start − due (fire time, retry time or run-now). */
  wait: Histogram;
}

export const MINUTE_MS = 60_000;
/** How long the store keeps the rows: the longest range the API serves, with a margin. */
export const SERIES_RETENTION_MS = 48 * 60 * MINUTE_MS;
export const SERIES_RANGES = { '1h': 60, '24h': 24 * 60 } as const;
export type SeriesRange = keyof typeof SERIES_RANGES;

export const minuteOf = (ms: number): number => Math.floor(ms / MINUTE_MS);

const emptyHistogram = (): Histogram => ({ n: 0, sum: 0, b: new Array<number>(BUCKET_BOUNDS_MS.length + 1).fill(0) });
export const emptyMinute = (): MinuteCounts => ({ started: 0, ended: {}, run: emptyHistogram(), wait: emptyHistogram() });

export function bucketOf(ms: number): number {
  let i = 0;
  while (i < BUCKET_BOUNDS_MS.length && ms > BUCKET_BOUNDS_MS[i]!) i++;
  return i;
}

export function observe(h: Histogram, ms: number): void {
  const v = Math.max(0, ms);
  h.n++;
  h.sum += v;
  h.b[bucketOf(v)]!++;
}

/** A copy to add to, leaving the original as it was (cheaper than structuredClone on the hot path). */
export function copyMinute(row: MinuteCounts): MinuteCounts {
  return {
    started: row.started,
    ended: { ...row.ended },
    run: { n: row.run.n, sum: row.run.sum, b: row.run.b.slice() },
    wait: { n: row.wait.n, sum: row.wait.sum, b: row.wait.b.slice() },
  };
}

/** Adds `from` into `into` (rows of other minutes or types, or a batch's deltas). */
export function addMinute(into: MinuteCounts, from: MinuteCounts): MinuteCounts {
  into.started += from.started;
  for (const [outcome, n] of Object.entries(from.ended)) into.ended[outcome] = (into.ended[outcome] ?? 0) + n;
  addHistogram(into.run, from.run);
  addHistogram(into.wait, from.wait);
  return into;
}

function addHistogram(into: Histogram, from: Histogram): void {
  into.n += from.n;
  into.sum += from.sum;
  for (let i = 0; i < into.b.length; i++) into.b[i]! += from.b[i] ?? 0;
}

/**
 * The q-quantile (0..1) read from the buckets, interpolated linearly inside the bucket it falls
 * in (the last, open bucket answers its lower bound); null when nothing was counted.
 */
export function quantile(h: Histogram, q: number): number | null {
  if (h.n === 0) return null;
  const rank = q * h.n;
  let seen = 0;
  for (let i = 0; i < h.b.length; i++) {
    const count = h.b[i]!;
    if (count > 0 && seen + count >= rank) {
      const lo = i === 0 ? 0 : BUCKET_BOUNDS_MS[i - 1]!;
      const hi = BUCKET_BOUNDS_MS[i];
      if (hi === undefined) return lo;
      return Math.round(lo + ((hi - lo) * Math.max(0, rank - seen)) / count);
    }
    seen += count;
  }
  return BUCKET_BOUNDS_MS[BUCKET_BOUNDS_MS.length - 1]!;
}

/** `GET /api/series`: one point per minute, oldest first, minutes without runs included as zeros. */
export interface SeriesView {
  type: string | null;
  range: SeriesRange;
  /** Start of each minute, in seconds since the epoch (what chart libraries take). */
  minutes: number[];
  started: number[];
  finished: number[];
  /** Runs that ended failed, timed out or lost. */
  failed: number[];
  runP50: Array<number | null>;
  runP95: Array<number | null>;
  waitP50: Array<number | null>;
  waitP95: Array<number | null>;
}

const FAILURES = ['failed', 'timeout', 'lost'];

/** The view of `count` minutes ending with `lastMinute`, from the stored rows (any order, any types: they add). */
export function seriesView(type: string | null, range: SeriesRange, lastMinute: number, rows: ReadonlyArray<{ minute: number; counts: MinuteCounts }>): SeriesView {
  const count = SERIES_RANGES[range];
  const first = lastMinute - count + 1;
  const byMinute = new Map<number, MinuteCounts>();
  for (const { minute, counts } of rows) {
    if (minute < first || minute > lastMinute) continue;
    const row = byMinute.get(minute);
    if (row === undefined) byMinute.set(minute, addMinute(emptyMinute(), counts));
    else addMinute(row, counts);
  }
  const view: SeriesView = { type, range, minutes: [], started: [], finished: [], failed: [], runP50: [], runP95: [], waitP50: [], waitP95: [] };
  for (let m = first; m <= lastMinute; m++) {
    const row = byMinute.get(m) ?? emptyMinute();
    view.minutes.push((m * MINUTE_MS) / 1000);
    view.started.push(row.started);
    view.finished.push(row.ended['finished'] ?? 0);
    view.failed.push(FAILURES.reduce((sum, o) => sum + (row.ended[o] ?? 0), 0));
    view.runP50.push(quantile(row.run, 0.5));
    view.runP95.push(quantile(row.run, 0.95));
    view.waitP50.push(quantile(row.wait, 0.5));
    view.waitP95.push(quantile(row.wait, 0.95));
  }
  return view;
}
