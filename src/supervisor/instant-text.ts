import { formatInstant } from '../schedule/schedule-fields.js';

/**
 * Instants as ISO-8601 UTC strings, for views and events. They come in bursts of a few values: a
 * group commit dates every change and event it carries with one `now`, a run's end names its
 * start (its claim's) and its end, and a submitMany's views its due and created times. The four
 * newest are kept, the oldest replaced on a miss: formatting one (a Date and toISOString) costs
 * more than the rest of an event, and was done five times per task.
 */
const SIZE = 4;
const keptMs = [NaN, NaN, NaN, NaN];
const keptText = ['', '', '', ''];
let oldest = 0;

export function instantText(ms: number): string {
  for (let i = 0; i < SIZE; i++) if (keptMs[i] === ms) return keptText[i]!;
  const text = formatInstant(ms);
  keptMs[oldest] = ms;
  keptText[oldest] = text;
  oldest = (oldest + 1) % SIZE;
  return text;
}
