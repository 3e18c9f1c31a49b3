import { addMinute, copyMinute, emptyMinute, type MinuteCounts } from '../api/series.js';
import type { SeriesDelta } from './store.js';

const MINUTE_WIDTH = 10;
/** Rows kept in memory: those of the last few minutes, which every batch adds to. */
const CACHED_MINUTES = 3;

export const seriesPrefix = (type: string): string => `m!${type}!`;
export const seriesKey = (type: string, minute: number): string => seriesPrefix(type) + String(minute).padStart(MINUTE_WIDTH, '0');
export const minuteOfSeriesKey = (key: string): number => Number(key.slice(key.lastIndexOf('!') + 1));

/**
 * The per-minute rows as last written, for the store to add a batch's deltas to: a row is read
 * from the store once (its first delta after an open), then kept while its minute is recent.
 * Only this process writes them (the lock), so the cached row is the stored one.
 */
export class SeriesRows {
  #rows = new Map<string, MinuteCounts>();
  #latest = 0;

  /**
   * The rows a batch's deltas give, keyed by store key; undefined when a row must be read first
   * (load). Synchronous when every row is held, as it is for all but a minute's first batch.
   */
  merge(deltas: ReadonlyMap<string, SeriesDelta>): Map<string, MinuteCounts> | undefined {
    const out = new Map<string, MinuteCounts>();
    for (const { type, minute, counts } of deltas.values()) {
      const key = seriesKey(type, minute);
      const base = out.get(key) ?? this.#rows.get(key);
      if (base === undefined) return undefined;
      out.set(key, addMinute(copyMinute(base), counts));
    }
    return out;
  }

  /** Reads the rows of these deltas the cache does not hold (the stored row is the written one). */
  async load(deltas: ReadonlyMap<string, SeriesDelta>, read: (key: string) => Promise<string | undefined>): Promise<void> {
    for (const { type, minute } of deltas.values()) {
      const key = seriesKey(type, minute);
      if (!this.#rows.has(key)) this.#rows.set(key, readable(await read(key)));
    }
  }

  /** The batch carrying these rows was written. */
  written(rows: ReadonlyMap<string, MinuteCounts>): void {
    for (const [key, row] of rows) {
      this.#rows.set(key, row);
      this.#latest = Math.max(this.#latest, minuteOfSeriesKey(key));
    }
    if (this.#rows.size > 64) {
      for (const key of this.#rows.keys()) if (minuteOfSeriesKey(key) < this.#latest - CACHED_MINUTES) this.#rows.delete(key);
    }
  }

  /** Forgets every row (a reopen after a failed write: the store is read again). */
  clear(): void {
    this.#rows.clear();
  }
}

/**
 * A stored row to add to. One that no longer parses starts again from zero: a damaged counter
 * must never refuse the batch that carries transitions (reads of it report the damage).
 */
export function readable(text: string | undefined): MinuteCounts {
  if (text === undefined) return emptyMinute();
  try {
    return parseRow(text);
  } catch {
    return emptyMinute();
  }
}

export function parseRow(text: string): MinuteCounts {
  const row = JSON.parse(text) as MinuteCounts;
  if (typeof row.started !== 'number' || typeof row.ended !== 'object' || !Array.isArray(row.run?.b) || !Array.isArray(row.wait?.b)) {
    throw new Error('not a per-minute row');
  }
  return row;
}
