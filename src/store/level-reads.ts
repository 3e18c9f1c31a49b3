import type { MinuteCounts } from '../api/series.js';
import { TASK_STATES } from '../task/state.js';
import { idOf, pausedOf, typeStatePrefix } from './keys.js';
import { drivingWord, idBounds } from './search-keys.js';
import { minuteOfSeriesKey, seriesKey } from './series-rows.js';
import type { SearchQuery, TaskStore } from './store.js';

export interface KeyRange {
  gte?: string;
  gt?: string;
  lt?: string;
  lte?: string;
  reverse?: boolean;
  limit?: number;
}

/** Range reads on the store's current database (LevelStore gives them its retry-after-reopen). */
export interface RangeReads {
  keys(range: KeyRange): Promise<string[]>;
  entries(range: KeyRange): Promise<Array<[string, string]>>;
}

/**
 * One search's candidates from one index range (see search-keys.ts), newest first, at most
 * `scanLimit` entries read; `exhausted` when the range holds no more.
 */
export async function searchIds(db: RangeReads, q: SearchQuery, scanLimit: number): Promise<{ ids: string[]; exhausted: boolean }> {
  const bounds = idBounds(q);
  if (bounds === null) return { ids: [], exhausted: true };
  const word = drivingWord(q.words ?? []);
  const prefixes = word !== undefined ? [`e!${word}!`]
    : q.type !== undefined ? TASK_STATES.filter((s) => s !== 'none').map((s) => typeStatePrefix(q.type!, s))
    : ['t!'];
  const pages = await Promise.all(prefixes.map((prefix) => db.keys({ gte: prefix + bounds.gte, lt: prefix + bounds.lt, reverse: true, limit: scanLimit })));
  const ids = pages.flat().map(idOf).sort().reverse();
  return { ids: ids.slice(0, scanLimit), exhausted: ids.length <= scanLimit && pages.every((p) => p.length < scanLimit) };
}

/**
 * One page of ids in id order (newest first when `reverse`) from several index ranges, each
 * read up to `limit` past the exclusive `cursor`. Ids sort by creation time, so this is the
 * order a single index over all the ranges would give.
 */
export async function mergeIds(db: RangeReads, prefixes: readonly string[], limit: number, reverse: boolean, cursor?: string): Promise<string[]> {
  const pages = await Promise.all(prefixes.map((prefix) => {
    const range = reverse
      ? { gte: prefix, lt: cursor === undefined ? `${prefix}\xff` : prefix + cursor }
      : { gt: cursor === undefined ? prefix : prefix + cursor, lt: `${prefix}\xff` };
    return db.keys({ ...range, reverse, limit });
  }));
  const ids = pages.flat().map(idOf).sort();
  if (reverse) ids.reverse();
  return ids.slice(0, limit);
}

export async function readSeries(db: RangeReads, type: string, fromMinute: number, toMinute: number, decode: (text: string, key: string) => MinuteCounts): Promise<Array<{ minute: number; counts: MinuteCounts }>> {
  const entries = await db.entries({ gte: seriesKey(type, fromMinute), lte: seriesKey(type, toMinute) });
  return entries.map(([key, text]) => ({ minute: minuteOfSeriesKey(key), counts: decode(text, key) }));
}


/** Paused open tasks per type, counted from the records: once, for a store made before they were kept. */
export async function countPaused(store: Pick<TaskStore, 'idsInState' | 'getTasks'>): Promise<Map<string, number>> {
  const counted = new Map<string, number>();
  for (const state of ['spooled', 'queued', 'running'] as const) {
    for (let cursor: string | undefined; ;) {
      const ids = await store.idsInState(state, 1000, cursor);
      if (ids.length === 0) break;
      cursor = ids[ids.length - 1];
      for (const rec of await store.getTasks(ids)) if (rec !== undefined && pausedOf(rec)) counted.set(rec.type, (counted.get(rec.type) ?? 0) + 1);
    }
  }
  return counted;
}
