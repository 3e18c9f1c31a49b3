import { errorWords } from '../api/error-words.js';
import type { TaskRecord } from '../task/record.js';
import type { Batch } from './index-writes.js';
import type { SearchQuery } from './store.js';

/**
 * The error index and how a search reads the key space. Task ids start with their creation time
 * (src/task/task-id.ts), so an id prefix and a time range are both a range of ids, and every
 * index whose keys end in the id can be read over that range, newest first:
 *
 *   e!<word>!<id>   a failed or timed-out task, by each word of its last run's error (its code,
 *                   the handler's code, its name, the first MAX_ERROR_WORDS words of its message)
 *
 * A search reads one range: the error index of its longest word when it has words, else the
 * type+state index of its type (one range per state, merged), else the task records' keys.
 * What the range does not decide (the other words, the type when words drove it) is checked
 * on the records read.
 */
export const errorKey = (word: string, id: string): string => `e!${word}!${id}`;
const NO_WORDS: readonly string[] = [];

/** The error words a task version is indexed by: none unless it ended failed or timed out with an error. */
export function errorWordsOf(rec: TaskRecord): readonly string[] {
  if ((rec.state !== 'failed' && rec.state !== 'terminated') || rec.lastRun?.error == null) return NO_WORDS;
  return errorWords(rec.lastRun.error);
}

export const errorKeys = (rec: TaskRecord): string[] => errorWordsOf(rec).map((w) => errorKey(w, rec.id));

/**
 * Moves a task's error keys from one version to the next, each put with `value`; most changes
 * cannot move them (a cheap test first, and no callback objects made for it: every write calls this).
 */
export function diffErrorKeys(before: TaskRecord | null, after: TaskRecord, batch: Batch, value: Uint8Array): void {
  const mayMove = before === null || before.state !== after.state || before.lastRun?.run !== after.lastRun?.run || before.lastRun?.state !== after.lastRun?.state;
  if (!mayMove) return;
  const now = errorWordsOf(after);
  const was = before === null ? NO_WORDS : errorWordsOf(before);
  if (now.length === 0 && was.length === 0) return;
  const adding = new Set(now);
  for (const w of was) if (!adding.delete(w)) batch.del(errorKey(w, before!.id));
  for (const w of adding) batch.put(errorKey(w, after.id), value);
}

/** The id range a query allows, [gte, lt), from its id prefix, its time range and its cursor. */
export function idBounds(q: SearchQuery): { gte: string; lt: string } | null {
  let gte = '';
  let lt = '\xff';
  const narrow = (lo: string, hi: string): void => {
    if (lo > gte) gte = lo;
    if (hi < lt) lt = hi;
  };
  if (q.idPrefix !== undefined) narrow(q.idPrefix, `${q.idPrefix}\xff`);
  if (q.from !== undefined) narrow(timePrefix(Math.max(0, q.from)), '\xff');
  if (q.to !== undefined) narrow('', timePrefix(Math.max(0, q.to + 1)));
  if (q.cursor !== undefined) narrow('', q.cursor);
  return gte < lt ? { gte, lt } : null;
}

const timePrefix = (ms: number): string => Math.floor(ms).toString(36).padStart(9, '0');

/** The word whose index drives a search: the longest (likely the rarest). */
export const drivingWord = (words: readonly string[]): string | undefined =>
  words.reduce<string | undefined>((best, w) => (best === undefined || w.length > best.length ? w : best), undefined);
