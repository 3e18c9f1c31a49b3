import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, MAX_TIMER_MS, SECOND } from '../../src/duration.js';
import { SpindleError } from '../../src/errors.js';
import type { Registry } from '../../src/task/registry.js';
import { loadRegistry } from '../../src/task/registry.js';
import { DEFAULT_MAX_PARAMS_BYTES, resolveSubmitOptions } from '../../src/task/submit-options.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { errorOf } from '../helpers/errors.js';

let registry: Registry;

beforeAll(async () => {
  const dir = tempDir('spindle-submit-');
  writeFileSync(join(dir, 'plain.mjs'), `export default { name: 'plain', timeout: '30s', maxTries: 5, priority: 7, run() {} };\n`);
  writeFileSync(join(dir, 'feed.mjs'), `export default {
    name: 'feed',
    params: { type: 'object', properties: { url: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } }, required: ['url'], additionalProperties: false },
    run() {},
  };\n`);
  registry = await loadRegistry({ tasksDir: dir, logger: pino({ level: 'silent' }) });
  expect(registry.problems).toEqual([]);
});

afterAll(removeTempDirs);


const refused = (input: unknown, maxParamsBytes?: number): SpindleError => errorOf(() => resolveSubmitOptions(input, registry, maxParamsBytes));

describe('resolveSubmitOptions', () => {
  it("falls back to the type's defaults and the submit defaults", () => {
    const r = resolveSubmitOptions({ type: 'plain' }, registry);
    expect(r).toEqual({
      type: registry.types.get('plain'),
      params: {},
      schedule: undefined,
      priority: 7,
      maxTries: 5,
      timeoutMs: 30 * SECOND,
      misfire: 'coalesce',
      graceMs: 1 * SECOND,
      key: null,
      keyRetentionMs: null,
    });
    expect(Object.isFrozen(r)).toBe(true);
  });

  it('applies per-task overrides', () => {
    const schedule = { every: '15m' };
    const r = resolveSubmitOptions({
      type: 'plain', params: [1, 'two'], schedule, priority: -3, maxTries: 1, timeout: '2s', misfire: 'skip', graceMs: '5s', key: 'k-1',
    }, registry);
    expect(r).toMatchObject({ params: [1, 'two'], priority: -3, maxTries: 1, timeoutMs: 2 * SECOND, misfire: 'skip', graceMs: 5 * SECOND, key: 'k-1' });
    expect(r.schedule).toBe(schedule);
  });

  it('accepts a request object with a null prototype', () => {
    const input = Object.assign(Object.create(null) as object, { type: 'plain' });
    expect(resolveSubmitOptions(input, registry).type.name).toBe('plain');
  });

  it.each([
    ['null', null],
    ['an array', [{ type: 'plain' }]],
    ['a string', 'plain'],
    ['a number', 1],
    ['undefined', undefined],
    ['a Date', new Date()],
    ['a class instance', new (class Submit { type = 'plain'; })()],
  ])('refuses %s as the request with BAD_REQUEST', (_, input) => {
    expect(refused(input).code).toBe('BAD_REQUEST');
  });

  it('refuses unknown fields with BAD_REQUEST naming them', () => {
    const err = refused({ type: 'plain', prio: 1, timeoutMs: 5 });
    expect(err.code).toBe('BAD_REQUEST');
    expect(err.details).toMatchObject({ field: 'prio', fields: ['prio', 'timeoutMs'] });
  });

  it('refuses __proto__ and constructor keys as unknown fields', () => {
    const err = refused(JSON.parse('{ "type": "plain", "__proto__": { "maxTries": 1000 }, "constructor": { "prototype": { "polluted": 1 } } }'));
    expect(err.code).toBe('BAD_REQUEST');
    expect(err.details.fields).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads only the fields the request itself carries, never inherited ones', () => {
    Object.defineProperty(Object.prototype, 'timeout', { value: -1, configurable: true, writable: true });
    try {
      expect(resolveSubmitOptions({ type: 'plain' }, registry).timeoutMs).toBe(30 * SECOND);
    } finally {
      delete (Object.prototype as Record<string, unknown>).timeout;
    }
  });

  it.each([
    ['missing', undefined],
    ['a number', 1],
    ['null', null],
    ['an object', { name: 'plain' }],
  ])('refuses a type that is %s with BAD_REQUEST', (_, type) => {
    const err = refused(type === undefined ? {} : { type });
    expect(err.code).toBe('BAD_REQUEST');
    expect(err.details.field).toBe('type');
  });

  it.each(['nope', '../../x', '/etc/passwd', 'node:child_process', 'file:///etc/passwd', 'plain\0', 'p'.repeat(300)])(
    'refuses type %j with UNKNOWN_TYPE',
    (type) => {
      expect(refused({ type }).code).toBe('UNKNOWN_TYPE');
    },
  );

  it.each([
    ['empty', ''],
    ['257 characters', 'k'.repeat(257)],
    ['a number', 42],
    ['null', null],
    ['an object', { k: 1 }],
  ])('refuses a key that is %s with BAD_REQUEST', (_, key) => {
    const err = refused({ type: 'plain', key });
    expect(err.code).toBe('BAD_REQUEST');
    expect(err.details.field).toBe('key');
  });

  it.each([
    ['key', { type: 'plain', key: '\ud800' }],
    ['key', { type: 'plain', key: 'order-\udc00-1' }],
    ['key', { type: 'plain', key: '\ud801x' }],
    ['type', { type: 'plain\ud800' }],
  ])('refuses a %s with an unpaired surrogate with INVALID_ARGUMENT naming it (UTF-8 cannot tell two such keys apart)', (field, input) => {
    const err = refused(input);
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.details.field).toBe(field);
  });

  it('accepts a key with a well-formed pair outside the BMP', () => {
    expect(resolveSubmitOptions({ type: 'plain', key: 'k-\ud83d\ude00' }, registry).key).toBe('k-😀');
  });

  it('takes a per-submit keyRetention with a key, and refuses one without a key or out of range', () => {
    expect(resolveSubmitOptions({ type: 'plain', key: 'k', keyRetention: '1h' }, registry).keyRetentionMs).toBe(3_600_000);
    expect(resolveSubmitOptions({ type: 'plain', key: 'k', keyRetention: 0 }, registry).keyRetentionMs).toBe(0);
    for (const input of [{ type: 'plain', keyRetention: '1h' }, ...BAD_NUMBERS.map(([, v]) => ({ type: 'plain', key: 'k', keyRetention: v }))]) {
      const err = refused(input);
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.details.field).toBe('keyRetention');
    }
  });

  it('accepts a key of 256 characters', () => {
    expect(resolveSubmitOptions({ type: 'plain', key: 'k'.repeat(256) }, registry).key).toHaveLength(256);
  });

  it('refuses a misfire that is not a string with BAD_REQUEST, and an unknown policy with INVALID_ARGUMENT', () => {
    expect(refused({ type: 'plain', misfire: 1 }).details).toMatchObject({ field: 'misfire' });
    expect(refused({ type: 'plain', misfire: 1 }).code).toBe('BAD_REQUEST');
    const err = refused({ type: 'plain', misfire: 'later' });
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.details.field).toBe('misfire');
  });

  const BAD_NUMBERS: Array<[string, unknown]> = [
    ['-1', -1], ['1.5', 1.5], ['"1000"', '1000'], ['null', null], ['true', true], ['1e309', 1e309], ['2^53', 2 ** 53], ['NaN', Number.NaN],
  ];
  const cases: Array<[field: string, value: unknown]> = [
    ...BAD_NUMBERS.flatMap(([, v]) => (['timeout', 'maxTries', 'graceMs'] as const).map((f): [string, unknown] => [f, v])),
    ...BAD_NUMBERS.filter(([label]) => label !== '-1').map(([, v]): [string, unknown] => ['priority', v]),
    ['timeout', 0], ['maxTries', 0], ['timeout', 30 * DAY], ['graceMs', 30 * DAY], ['timeout', MAX_TIMER_MS + 1],
    ['maxTries', 1001], ['priority', 1_000_001],
  ];
  it.each(cases)('B4: refuses %s = %j with INVALID_ARGUMENT naming the field', (field, value) => {
    const err = refused({ type: 'plain', [field]: value });
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.details.field).toBe(field);
  });

  it('leaves schedule as given, whatever it is', () => {
    for (const schedule of [null, 'garbage', { cron: 'not a cron' }, 5]) {
      expect(resolveSubmitOptions({ type: 'plain', schedule }, registry).schedule).toBe(schedule);
    }
  });

  describe('params', () => {
    it('B2: validates against the schema, answering INVALID_PARAMS with the paths', () => {
      const missing = refused({ type: 'feed' });
      expect(missing.code).toBe('INVALID_PARAMS');
      expect(missing.details.paths).toEqual(['/url']);
      const wrong = refused({ type: 'feed', params: { url: 'u', tags: ['a', 2], extra: 1 } });
      expect(wrong.code).toBe('INVALID_PARAMS');
      expect(wrong.details.paths).toEqual(expect.arrayContaining(['/tags/1', '/extra']));
    });

    it('treats absent params as {} for a type without a schema too', () => {
      expect(resolveSubmitOptions({ type: 'plain' }, registry).params).toEqual({});
    });

    it('keeps an explicit null as null', () => {
      expect(resolveSubmitOptions({ type: 'plain', params: null }, registry).params).toBeNull();
    });

    it('resolves to a JSON copy the caller cannot change afterwards', () => {
      const params = { url: 'u', tags: ['a'] };
      const r = resolveSubmitOptions({ type: 'feed', params }, registry);
      params.tags.push('b');
      expect(r.params).toEqual({ url: 'u', tags: ['a'] });
    });

    it('keeps a __proto__ key as plain data without polluting anything', () => {
      const r = resolveSubmitOptions({ type: 'plain', params: JSON.parse('{ "__proto__": { "polluted": 1 }, "a": 1 }') }, registry);
      expect(Object.keys(r.params as object)).toEqual(['__proto__', 'a']);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('refuses params that are not JSON with BAD_REQUEST', () => {
      for (const params of [10n, () => 1, Symbol('s')]) {
        const err = refused({ type: 'plain', params });
        expect(err.code).toBe('BAD_REQUEST');
        expect(err.details.field).toBe('params');
      }
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      expect(refused({ type: 'plain', params: cyclic }).code).toBe('BAD_REQUEST');
    });

    it('refuses params over the byte cap with PAYLOAD_TOO_LARGE and accepts them at the cap', () => {
      // JSON of a string of n ASCII characters is n + 2 bytes.
      const sized = (bytes: number) => 'x'.repeat(bytes - 2);
      expect(resolveSubmitOptions({ type: 'plain', params: sized(DEFAULT_MAX_PARAMS_BYTES) }, registry).params).toHaveLength(DEFAULT_MAX_PARAMS_BYTES - 2);
      const err = refused({ type: 'plain', params: sized(DEFAULT_MAX_PARAMS_BYTES + 1) });
      expect(err.code).toBe('PAYLOAD_TOO_LARGE');
      expect(err.details).toMatchObject({ field: 'params', bytes: DEFAULT_MAX_PARAMS_BYTES + 1, limit: DEFAULT_MAX_PARAMS_BYTES });
    });

    it('counts the cap in UTF-8 bytes and honours a configured cap', () => {
      const err = refused({ type: 'plain', params: 'é'.repeat(600) }, 1024);
      expect(err.code).toBe('PAYLOAD_TOO_LARGE');
      expect(err.details).toMatchObject({ bytes: 1202, limit: 1024 });
      expect(resolveSubmitOptions({ type: 'plain', params: 'é'.repeat(500) }, registry, 1024).params).toHaveLength(500);
    });

    it('checks the size before the schema, so an oversized payload is never validated', () => {
      expect(refused({ type: 'feed', params: { wrong: 'x'.repeat(2000) } }, 1024).code).toBe('PAYLOAD_TOO_LARGE');
    });
  });
});
