import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { resolveRuntimeOptions } from '../../src/runtime/runtime-options.js';
import { errorOf } from '../helpers/errors.js';

describe('runtime options: the socket', () => {
  it('serves nothing in-process unless asked; true means <data>/spindle.sock; a path is resolved', () => {
    expect(resolveRuntimeOptions({ data: '/srv/spindle' }).socketPath).toBeNull();
    expect(resolveRuntimeOptions({ data: '/srv/spindle', socket: true }).socketPath).toBe('/srv/spindle/spindle.sock');
    expect(resolveRuntimeOptions({ data: '/srv/spindle', socket: 'run/s.sock' }).socketPath).toBe(join(process.cwd(), 'run/s.sock'));
  });

  it('refuses a socket path longer than a Unix socket allows, naming the option and the limit', () => {
    const data = `/tmp/${'d'.repeat(120)}`;
    const err = errorOf(() => resolveRuntimeOptions({ data, socket: true }));
    expect(err).toMatchObject({ code: 'INVALID_OPTION', details: { field: 'socket' } });
    expect(err.message).toMatch(/is 138 bytes; Unix sockets allow 107: use a shorter data directory or --socket$/);
  });

  it('checks the frame and connection limits', () => {
    expect(resolveRuntimeOptions({}).maxFrameBytes).toBe(1024 * 1024);
    expect(errorOf(() => resolveRuntimeOptions({ maxFrameBytes: 10 }))).toMatchObject({ code: 'INVALID_OPTION', details: { field: 'maxFrameBytes' } });
    expect(errorOf(() => resolveRuntimeOptions({ maxConnections: 0 }))).toMatchObject({ code: 'INVALID_OPTION', details: { field: 'maxConnections' } });
  });
});

describe('runtime options: the key retention', () => {
  it('defaults to 24 h, takes 0 and durations, and refuses anything else naming keyRetention', () => {
    expect(resolveRuntimeOptions({}).keyRetentionMs).toBe(24 * 3_600_000);
    expect(resolveRuntimeOptions({ keyRetention: 0 }).keyRetentionMs).toBe(0);
    expect(resolveRuntimeOptions({ keyRetention: '7d' }).keyRetentionMs).toBe(7 * 24 * 3_600_000);
    for (const keyRetention of [-1, 1.5, '1000', 'forever', '400d', Number.NaN, null as never]) {
      expect(errorOf(() => resolveRuntimeOptions({ keyRetention }))).toMatchObject({ code: 'INVALID_OPTION', details: { field: 'keyRetention' } });
    }
  });
});

describe('runtime options: the store', () => {
  it('defaults to LevelDB in <data>/store; level:DIR is LevelDB in DIR, a relative DIR resolved against the working directory', () => {
    expect(resolveRuntimeOptions({ data: '/srv/spindle' }).store).toEqual({ kind: 'level', path: '/srv/spindle/store', dataDir: '/srv/spindle' });
    expect(resolveRuntimeOptions({ data: '/srv/spindle', store: 'level:/var/lib/tasks' }).store).toEqual({ kind: 'level', path: '/var/lib/tasks', dataDir: null });
    expect(resolveRuntimeOptions({ data: '/srv/spindle', store: 'level:state/tasks' }).store).toEqual({ kind: 'level', path: join(process.cwd(), 'state/tasks'), dataDir: null });
  });

  it('refuses an unknown kind, a bare path, an empty directory and the data directory itself, naming the option', () => {
    const refusals: Array<[string, RegExp]> = [
      ['foo:bar', /^store: unknown kind of store "foo:"; use level:DIR/],
      ['/var/lib/tasks', /^store: "\/var\/lib\/tasks" names no kind of store; for LevelDB in that directory, use level:\/var\/lib\/tasks$/],
      ['level:', /^store: level: needs a directory/],
      ['level:/srv/spindle', /^store: \/srv\/spindle is the data directory itself/],
      ['', /names no kind of store/],
    ];
    for (const [store, message] of refusals) {
      const err = errorOf(() => resolveRuntimeOptions({ data: '/srv/spindle', store }));
      expect(err, store).toMatchObject({ code: 'INVALID_OPTION', details: { field: 'store' } });
      expect(err.message, store).toMatch(message);
    }
  });

  it('reads $SPINDLE_STORE when no store is given: the option wins, an empty one is none, a bad one is refused naming SPINDLE_STORE', () => {
    const url = 'postgres://spindle:s3cret@db.example/spindle';
    expect(resolveRuntimeOptions({ data: '/srv/spindle' }, { SPINDLE_STORE: url }).store).toEqual({ kind: 'postgres', url });
    expect(resolveRuntimeOptions({ data: '/srv/spindle', store: 'level:/var/lib/tasks' }, { SPINDLE_STORE: url }).store).toMatchObject({ kind: 'level', path: '/var/lib/tasks' });
    expect(resolveRuntimeOptions({ data: '/srv/spindle' }, { SPINDLE_STORE: '' }).store).toMatchObject({ kind: 'level', path: '/srv/spindle/store' });
    const err = errorOf(() => resolveRuntimeOptions({ data: '/srv/spindle' }, { SPINDLE_STORE: 'foo:bar' }));
    expect(err).toMatchObject({ code: 'INVALID_OPTION', details: { field: 'SPINDLE_STORE' } });
    expect(err.message).toMatch(/^SPINDLE_STORE: unknown kind of store "foo:"/);
  });

  it('takes a PostgreSQL URL as a shared store, and a lease of 2 s to 1 h (30 s by default)', () => {
    for (const store of ['postgres://spindle:s3cret@db.example/spindle', 'postgresql://spindle:s3cret@db.example/spindle', 'POSTGRES://x']) {
      expect(resolveRuntimeOptions({ store }).store, store).toEqual({ kind: 'postgres', url: store });
    }
    expect(resolveRuntimeOptions({}).leaseMs).toBe(30_000);
    expect(resolveRuntimeOptions({ lease: '10s' }).leaseMs).toBe(10_000);
    for (const lease of ['1s', '2h', 'soon', -1]) {
      expect(errorOf(() => resolveRuntimeOptions({ lease })), String(lease)).toMatchObject({ code: 'INVALID_OPTION', details: { field: 'lease' } });
    }
  });
});

describe('runtime options: logs and tasks', () => {
  it('takes logFormat pretty or json, defaulting to what stdout is, and refuses anything else naming it', () => {
    expect(resolveRuntimeOptions({ logFormat: 'pretty' }).logFormat).toBe('pretty');
    expect(resolveRuntimeOptions({ logFormat: 'json' }).logFormat).toBe('json');
    expect(resolveRuntimeOptions({}).logFormat).toBe(process.stdout.isTTY === true ? 'pretty' : 'json');
    expect(errorOf(() => resolveRuntimeOptions({ logFormat: 'xml' as never }))).toMatchObject({ code: 'INVALID_OPTION', details: { field: 'logFormat' } });
  });

  it('logs at a given logger\'s level unless logLevel says otherwise', () => {
    expect(resolveRuntimeOptions({ logger: pino({ level: 'debug' }) }).logLevel).toBe('debug');
    expect(resolveRuntimeOptions({ logger: pino({ level: 'debug' }), logLevel: 'warn' }).logLevel).toBe('warn');
    expect(resolveRuntimeOptions({}).logLevel).toBe('info');
  });

  it('reads tasks as a folder, or as a list of paths, file: URLs and definitions with their module', () => {
    expect(resolveRuntimeOptions({}).tasks).toEqual([{ kind: 'folder', path: join(process.cwd(), 'tasks'), field: 'tasks' }]);
    const definition = { name: 'x', module: 'file:///srv/app/x.js', run: () => null };
    expect(resolveRuntimeOptions({ tasks: ['lib/tasks', new URL('file:///srv/app/y.mjs'), definition] }).tasks).toEqual([
      { kind: 'path', path: join(process.cwd(), 'lib/tasks'), field: 'tasks[0]' },
      { kind: 'path', path: '/srv/app/y.mjs', field: 'tasks[1]' },
      { kind: 'definition', definition, module: '/srv/app/x.js', field: 'tasks[2]' },
    ]);
    expect(errorOf(() => resolveRuntimeOptions({ tasks: [new URL('https://example.org/x.js')] }))).toMatchObject({ code: 'INVALID_OPTION', details: { field: 'tasks[0]' } });
    expect(errorOf(() => resolveRuntimeOptions({ tasks: 42 as never }))).toMatchObject({ code: 'INVALID_OPTION', details: { field: 'tasks' } });
  });
});
