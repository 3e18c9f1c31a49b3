import { setTimeout as sleep } from 'node:timers/promises';
import { defineTask } from 'spindle';

/** Works for `seconds`, reporting progress; stops promptly when cancelled or timed out. */
export default defineTask({
  name: 'slow',
  description: 'Sleeps `seconds` (default 5) in steps, reporting progress',
  params: {
    type: 'object',
    properties: { seconds: { type: 'number', minimum: 0, maximum: 3600 } },
    additionalProperties: false,
  },
  timeout: '2h',
  concurrency: 2,
  async run({ seconds = 5 }, ctx) {
    const steps = 10;
    for (let i = 1; i <= steps; i++) {
      await sleep((seconds * 1000) / steps, undefined, { signal: ctx.signal });
      await ctx.progress(i / steps);
    }
    return { slept: seconds };
  },
});
