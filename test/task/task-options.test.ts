import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DAY, MAX_TIMER_MS, MINUTE, SECOND } from '../../src/duration.js';
import type { RetryPolicy } from '../../src/task/task-options.js';
import {
  concurrencyOption, graceMsOption, isolationOption, maxQueuedOption, maxTriesOption, misfireOption, priorityOption,
  retentionOption, retryDelay, retryOption, TASK_DEFAULTS, timeoutOption,
} from '../../src/task/task-options.js';
import { errorOf } from '../helpers/errors.js';


/** Refused by every numeric or duration field. */
const ALWAYS_BAD: unknown[] = ['1000', null, true, false, 1e309, -1e309, 2 ** 53, Number.NaN, {}, [], -1];
const NON_INTEGERS: unknown[] = [1.5, 0.1];
const THIRTY_DAYS: unknown[] = [30 * DAY, '30d', MAX_TIMER_MS + 1];

interface FieldCase {
  field: string;
  parse: (v: unknown) => unknown;
  bad: unknown[];
  good: Array<[input: unknown, resolved: unknown]>;
}

const retryField = (key: string) => (v: unknown) => retryOption({ [key]: v });

const FIELDS: FieldCase[] = [
  {
    field: 'timeout', parse: (v) => timeoutOption(v),
    bad: [...ALWAYS_BAD, ...NON_INTEGERS, ...THIRTY_DAYS, 0, '0s', '10 minutes'],
    good: [[1, 1], ['30s', 30 * SECOND], [MAX_TIMER_MS, MAX_TIMER_MS]],
  },
  {
    field: 'maxTries', parse: (v) => maxTriesOption(v),
    bad: [...ALWAYS_BAD, ...NON_INTEGERS, 0, 1001],
    good: [[1, 1], [1000, 1000]],
  },
  {
    field: 'priority', parse: (v) => priorityOption(v),
    bad: [...ALWAYS_BAD.filter((v) => v !== -1), ...NON_INTEGERS, 1_000_001, -1_000_001],
    good: [[-1, -1], [0, 0], [1_000_000, 1_000_000], [-1_000_000, -1_000_000]],
  },
  {
    field: 'concurrency', parse: (v) => concurrencyOption(v),
    bad: [...ALWAYS_BAD, ...NON_INTEGERS, 0, 100_001],
    good: [[1, 1], [100_000, 100_000]],
  },
  {
    field: 'maxQueued', parse: (v) => maxQueuedOption(v),
    bad: [...ALWAYS_BAD, ...NON_INTEGERS, 0, 1e9 + 1],
    good: [[1, 1], [1e9, 1e9]],
  },
  {
    field: 'graceMs', parse: (v) => graceMsOption(v),
    bad: [...ALWAYS_BAD, ...NON_INTEGERS, ...THIRTY_DAYS],
    good: [[0, 0], [2500, 2500], ['5s', 5 * SECOND]],
  },
  {
    field: 'retry.delay', parse: retryField('delay'),
    bad: [...ALWAYS_BAD, ...NON_INTEGERS, ...THIRTY_DAYS],
    good: [[0, { ...TASK_DEFAULTS.retry, delayMs: 0 }], ['2s', { ...TASK_DEFAULTS.retry, delayMs: 2 * SECOND }]],
  },
  {
    field: 'retry.maxDelay', parse: retryField('maxDelay'),
    bad: [...ALWAYS_BAD, ...NON_INTEGERS, ...THIRTY_DAYS, 999],
    good: [[1000, { ...TASK_DEFAULTS.retry, maxDelayMs: 1000 }], ['1h', { ...TASK_DEFAULTS.retry, maxDelayMs: 60 * MINUTE }]],
  },
  {
    field: 'retry.backoff', parse: retryField('backoff'),
    bad: [...ALWAYS_BAD.filter((v) => v !== 2 ** 53), 0, 0.5, 101, '2'],
    good: [[1, { ...TASK_DEFAULTS.retry, backoff: 1 }], [1.5, { ...TASK_DEFAULTS.retry, backoff: 1.5 }], [100, { ...TASK_DEFAULTS.retry, backoff: 100 }]],
  },
  {
    field: 'retry.jitter', parse: retryField('jitter'),
    bad: [...ALWAYS_BAD.filter((v) => v !== 2 ** 53), 1.5, -0.1, '0.2'],
    good: [[0, { ...TASK_DEFAULTS.retry, jitter: 0 }], [1, { ...TASK_DEFAULTS.retry, jitter: 1 }], [0.5, { ...TASK_DEFAULTS.retry, jitter: 0.5 }]],
  },
  {
    field: 'retention', parse: (v) => retentionOption(v),
    bad: [...ALWAYS_BAD, ...NON_INTEGERS, 'never', 'Forever', 11 * 365 * DAY, '600w'],
    // Retention never reaches a timer, so 30 days is fine here.
    good: [[0, 0], [30 * DAY, 30 * DAY], ['7d', 7 * DAY], ['forever', null], [10 * 365 * DAY, 10 * 365 * DAY]],
  },
  {
    field: 'misfire', parse: (v) => misfireOption(v),
    bad: ['later', 'COALESCE', '', null, true, 1, {}],
    good: [['coalesce', 'coalesce'], ['skip', 'skip'], ['all', 'all']],
  },
  {
    field: 'isolation', parse: (v) => isolationOption(v),
    bad: ['threads', 'processes', 'worker', '', null, true, 0],
    good: [['thread', 'thread'], ['process', 'process']],
  },
];

describe('B4: task option validators (timeout, maxTries, retry delays in a task module)', () => {
  for (const { field, parse, bad, good } of FIELDS) {
    describe(field, () => {
      it.each(bad.map((v) => [describeValue(v), v]))('refuses %s with INVALID_ARGUMENT naming the field', (_, value) => {
        const err = errorOf(() => parse(value));
        expect(err.code).toBe('INVALID_ARGUMENT');
        expect(err.details.field).toBe(field);
      });

      it.each(good.map(([v, r]) => [describeValue(v), v, r]))('accepts %s', (_, value, resolved) => {
        expect(parse(value)).toEqual(resolved);
      });
    });
  }

  it('uses the defaults, written in units, when a field is omitted', () => {
    expect(timeoutOption(undefined)).toBe(10 * MINUTE);
    expect(maxTriesOption(undefined)).toBe(3);
    expect(retryOption(undefined)).toEqual({ delayMs: 1 * SECOND, backoff: 2, maxDelayMs: 5 * MINUTE, jitter: 0.2 });
    expect(retryOption({})).toEqual(retryOption(undefined));
    expect(concurrencyOption(undefined)).toBeNull();
    expect(priorityOption(undefined)).toBe(0);
    expect(maxQueuedOption(undefined)).toBeNull();
    expect(retentionOption(undefined)).toBeUndefined();
    expect(isolationOption(undefined)).toBeUndefined();
    expect(misfireOption(undefined)).toBe('coalesce');
    expect(graceMsOption(undefined)).toBe(1 * SECOND);
  });

  it('uses the given fallback when a field is omitted, and only then', () => {
    expect(timeoutOption(undefined, 5 * SECOND)).toBe(5 * SECOND);
    expect(timeoutOption('2s', 5 * SECOND)).toBe(2 * SECOND);
    expect(maxTriesOption(undefined, 7)).toBe(7);
    expect(priorityOption(undefined, -3)).toBe(-3);
    expect(misfireOption(undefined, 'skip')).toBe('skip');
    expect(graceMsOption(undefined, 0)).toBe(0);
  });

  it('raises an omitted maxDelay to a delay longer than the default maxDelay', () => {
    expect(retryOption({ delay: '10m' })).toMatchObject({ delayMs: 10 * MINUTE, maxDelayMs: 10 * MINUTE });
  });

  it('refuses a retry option that is not an object', () => {
    for (const value of [null, 5, '1s', [], true]) {
      const err = errorOf(() => retryOption(value));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.details.field).toBe('retry');
    }
  });

  it('refuses an unknown retry key, naming it', () => {
    const err = errorOf(() => retryOption({ delay: 10, maxdelay: 100 }));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.details.field).toBe('retry.maxdelay');
  });

  it('returns a frozen retry policy', () => {
    expect(Object.isFrozen(retryOption({ delay: 5 }))).toBe(true);
    expect(Object.isFrozen(retryOption(undefined))).toBe(true);
  });
});

describe('retryDelay', () => {
  const policy = (p: Partial<RetryPolicy>): RetryPolicy => ({ delayMs: 1000, backoff: 2, maxDelayMs: 5 * MINUTE, jitter: 0, ...p });

  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [9, 256_000],
    [10, 5 * MINUTE],
    [1000, 5 * MINUTE],
  ])('without jitter, try %i waits %i ms (delay × backoff^(n−1), capped at maxDelay)', (n, expected) => {
    expect(retryDelay(n, policy({}), () => 0.5)).toBe(expected);
  });

  it('spreads the wait uniformly over ± jitter around the computed delay', () => {
    const p = policy({ jitter: 0.2 });
    expect(retryDelay(1, p, () => 0)).toBe(800);
    expect(retryDelay(1, p, () => 0.5)).toBe(1000);
    expect(retryDelay(1, p, () => 0.75)).toBe(1100);
    expect(retryDelay(1, p, () => 1 - Number.EPSILON)).toBe(1200);
    expect(retryDelay(3, p, () => 0)).toBe(3200);
  });

  it('applies jitter after the maxDelay cap', () => {
    const p = policy({ jitter: 0.2, maxDelayMs: 10_000 });
    expect(retryDelay(50, p, () => 0)).toBe(8000);
    expect(retryDelay(50, p, () => 1 - Number.EPSILON)).toBe(12_000);
  });

  it('rounds to whole milliseconds', () => {
    expect(retryDelay(2, policy({ delayMs: 3, backoff: 1.5 }))).toBe(5);
    expect(retryDelay(2, policy({ delayMs: 1, backoff: 1.25, jitter: 0 }))).toBe(1);
  });

  it('stays zero for a zero delay even when backoff^(n−1) overflows', () => {
    expect(retryDelay(1000, policy({ delayMs: 0, backoff: 100, jitter: 1 }), () => 0.99)).toBe(0);
  });

  it('caps at maxDelay when backoff^(n−1) overflows', () => {
    expect(retryDelay(1000, policy({ backoff: 100 }))).toBe(5 * MINUTE);
  });

  it('never exceeds what a timer accepts, even with full jitter on the largest delay', () => {
    const p = policy({ delayMs: MAX_TIMER_MS, maxDelayMs: MAX_TIMER_MS, jitter: 1 });
    expect(retryDelay(1, p, () => 1 - Number.EPSILON)).toBe(MAX_TIMER_MS);
    expect(retryDelay(1, p, () => 0)).toBe(0);
  });

  it('refuses a try number below 1 or fractional', () => {
    for (const n of [0, -1, 1.5, Number.NaN]) expect(() => retryDelay(n, policy({}))).toThrow(RangeError);
  });

  it('always lands on an integer within [d(1−j), d(1+j)] and [0, 2^31−1] for any valid policy', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 1000 }),
      fc.integer({ min: 0, max: MAX_TIMER_MS }),
      fc.double({ min: 1, max: 100, noNaN: true }),
      fc.integer({ min: 0, max: MAX_TIMER_MS }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (n, delayMs, backoff, extra, jitter, r) => {
        const maxDelayMs = Math.min(MAX_TIMER_MS, delayMs + extra);
        const d = delayMs === 0 ? 0 : Math.min(maxDelayMs, delayMs * backoff ** (n - 1));
        const got = retryDelay(n, { delayMs, backoff, maxDelayMs, jitter }, () => r);
        expect(Number.isInteger(got)).toBe(true);
        expect(got).toBeGreaterThanOrEqual(Math.max(0, Math.floor(d * (1 - jitter))));
        expect(got).toBeLessThanOrEqual(Math.min(MAX_TIMER_MS, Math.ceil(d * (1 + jitter))));
      },
    ));
  });
});

function describeValue(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, 2 ** 53) ? '2^53' : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  return v === null ? 'null' : Array.isArray(v) ? '[]' : typeof v === 'object' ? '{}' : String(v);
}
