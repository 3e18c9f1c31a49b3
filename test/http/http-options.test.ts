import { describe, expect, it } from 'vitest';
import { resolveRuntimeOptions } from '../../src/runtime/runtime-options.js';
import { errorOf } from '../helpers/errors.js';

const http = (value: unknown): unknown => resolveRuntimeOptions({ data: '/tmp/x', http: value as never }).http;

describe('the http option', () => {
  it('is off by default and on loopback unless a host is given', () => {
    expect(http(undefined)).toBeNull();
    expect(http(false)).toBeNull();
    expect(http(8080)).toEqual({ host: '127.0.0.1', port: 8080, readOnly: false, maxPendingEventBytes: 8 * 1024 * 1024 });
    expect(http('8080')).toMatchObject({ host: '127.0.0.1', port: 8080 });
  });

  it('reads HOST:PORT, [IPv6]:PORT and an object', () => {
    expect(http('0.0.0.0:9100')).toMatchObject({ host: '0.0.0.0', port: 9100 });
    expect(http('[::1]:9100')).toMatchObject({ host: '::1', port: 9100 });
    expect(http('localhost:0')).toMatchObject({ host: 'localhost', port: 0 });
    expect(http({ port: 1, readOnly: true })).toMatchObject({ host: '127.0.0.1', port: 1, readOnly: true });
  });

  it('refuses anything else with INVALID_OPTION naming the field', () => {
    for (const [value, field] of [[true, 'http'], ['', 'http'], ['80x', 'http'], ['a:b:80', 'http'], [70_000, 'http.port'], [-1, 'http.port'], [1.5, 'http.port'],
      ['bad_host!:80', 'http.host'], [{ port: 80, host: 'bad host' }, 'http.host'], [{ port: 80, maxPendingEventBytes: 10 }, 'http.maxPendingEventBytes'], [{ port: 80, readOnly: 'yes' }, 'http.readOnly']] as const) {
      const err = errorOf(() => http(value));
      expect([err.code, err.details.field], JSON.stringify(value)).toEqual(['INVALID_OPTION', field]);
    }
  });
});
