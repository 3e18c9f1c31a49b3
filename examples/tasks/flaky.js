import { defineTask } from 'spindle';

/** Fails its first tries, then succeeds: watch the retries and their backoff. */
export default defineTask({
  name: 'flaky',
  description: 'Throws until attempt `succeedOn` (default 3)',
  params: {
    type: 'object',
    properties: { succeedOn: { type: 'integer', minimum: 1 } },
    additionalProperties: false,
  },
  maxTries: 5,
  retry: { delay: '200ms', backoff: 2, maxDelay: '5s', jitter: 0.1 },
  async run({ succeedOn = 3 }, ctx) {
    if (ctx.attempt < succeedOn) throw new Error(`attempt ${ctx.attempt} failed on purpose`);
    return { attempt: ctx.attempt };
  },
});
