import { defineTask } from 'spindle';

/** Counts primes below `n` on a worker thread, keeping the runtime's own thread free. */
export default defineTask({
  name: 'cpu-heavy',
  description: 'Counts primes below n (default 2,000,000); a TypeScript module',
  // `n` is typed `number | undefined` in run from this schema: no separate interface to keep in step.
  params: {
    type: 'object',
    properties: { n: { type: 'integer', minimum: 2, maximum: 100000000 } },
    additionalProperties: false,
  },
  timeout: '1m',
  async run({ n = 2_000_000 }, ctx) {
    const sieve = new Uint8Array(n);
    let count = 0;
    for (let i = 2; i < n; i++) {
      if (sieve[i]) continue;
      count++;
      for (let j = i * i; j < n; j += i) sieve[j] = 1;
      if (i % 100_000 === 0 && ctx.signal.aborted) throw ctx.signal.reason;
    }
    return { n, primes: count };
  },
});
