import { emptyMinute, minuteOf, observe } from '../api/series.js';
import type { RunRecord, TaskRecord } from '../task/record.js';
import type { SeriesDelta } from './store.js';

/**
 * Counts a decision's run start or run end into the batch's per-minute deltas, from the task's
 * run before the decision (`before`, with the due time the task had) and after it. Most
 * transitions neither start nor end a run: two comparisons and nothing else.
 */
export function countRun(deltas: Map<string, SeriesDelta>, rec: TaskRecord, before: RunRecord | null, dueBefore: number | null, now: number): void {
  const run = rec.lastRun;
  if (run === null) return;
  const started = run.state === 'running' && run.run !== before?.run;
  const ended = before !== null && before.state === 'running' && run.run === before.run && run.state !== 'running';
  if (!started && !ended) return;
  const counts = rowOf(deltas, rec.type, minuteOf(now));
  if (started) {
    counts.started++;
    observe(counts.wait, dueBefore === null ? 0 : run.startedAt - dueBefore);
  } else {
    counts.ended[run.state] = (counts.ended[run.state] ?? 0) + 1;
    if (run.durationMs !== null) observe(counts.run, run.durationMs);
  }
}

/** The row last added to, and the batch's map it is in: a busy batch adds to one type's row run after run. */
let last: { deltas: Map<string, SeriesDelta>; delta: SeriesDelta } | null = null;

function rowOf(deltas: Map<string, SeriesDelta>, type: string, minute: number): SeriesDelta['counts'] {
  if (last !== null && last.deltas === deltas && last.delta.type === type && last.delta.minute === minute) return last.delta.counts;
  const key = `${type}\n${minute}`;
  let delta = deltas.get(key);
  if (delta === undefined) deltas.set(key, (delta = { type, minute, counts: emptyMinute() }));
  last = { deltas, delta };
  return delta.counts;
}
