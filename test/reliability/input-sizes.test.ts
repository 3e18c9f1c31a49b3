import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/client.js';
import { SpindleError } from '../../src/errors.js';
import type { Runtime } from '../../src/index.js';
import type { Method } from '../../src/api/methods.js';
import { cachedPrefixTypes, MAX_CACHED_TYPES, typeStatePrefix } from '../../src/store/keys.js';
import { FIXTURE_TASKS, removeTempDirs, startRuntime, tempDir, waitForState } from '../helpers/runtime.js';

const TASKS = fileURLToPath(new URL('../fixtures/reply-tasks', import.meta.url));
const MB = 1024 * 1024;

let runtime: Runtime;
let client: Client;
const clients: Client[] = [];

beforeAll(async () => {
  runtime = await startRuntime({ tasks: TASKS, socket: true });
  client = await Client.connect({ socket: join(runtime.options.data, 'spindle.sock'), reconnectWindowMs: 0 });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await client.close();
  await runtime.stop(2000);
  removeTempDirs();
});

async function refusal(promise: Promise<unknown>): Promise<SpindleError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof SpindleError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

async function refusedOver(method: Method, params: Record<string, unknown>): Promise<{ code: string; field: unknown }> {
  const err = await refusal(client.call(method, params));
  return { code: err.code, field: err.details.field };
}

describe('issue 14.4: read filters name only types the runtime knows', () => {
  it('refuses a type no module defines and the store never counted, in list, pending and events, with UNKNOWN_TYPE', async () => {
    expect((await refusal(client.list({ type: 'no-such-type' }))).code).toBe('UNKNOWN_TYPE');
    expect((await refusal(client.pending({ type: 'no-such-type' }))).code).toBe('UNKNOWN_TYPE');
    expect((await refusal(client.call('events.subscribe', { type: 'no-such-type' }))).code).toBe('UNKNOWN_TYPE');
    expect((await refusal(runtime.list({ type: 'no-such-type' }))).code).toBe('UNKNOWN_TYPE');
    expect(() => runtime.subscribe({ type: 'no-such-type' }, () => {})).toThrow(expect.objectContaining({ code: 'UNKNOWN_TYPE' }));
  });

  it('refuses a 500 KB type name with INVALID_ARGUMENT naming the field, over the socket and in-process', async () => {
    const huge = 'a'.repeat(500_000);
    expect(await refusedOver('task.list', { type: huge })).toEqual({ code: 'INVALID_ARGUMENT', field: 'type' });
    expect(await refusedOver('task.pending', { type: huge })).toEqual({ code: 'INVALID_ARGUMENT', field: 'type' });
    expect(await refusedOver('events.subscribe', { type: huge })).toEqual({ code: 'INVALID_ARGUMENT', field: 'type' });
    const inProcess = await refusal(runtime.list({ type: huge }));
    expect([inProcess.code, inProcess.details.field]).toEqual(['INVALID_ARGUMENT', 'type']);
  });

  it('still lists the tasks of a type whose module was removed (the store counted it)', async () => {
    const data = tempDir();
    const first = await startRuntime({ data, tasks: TASKS });
    const task = await first.submit({ type: 'blob', params: {}, schedule: { in: '1h' } });
    await first.stop(2000);
    const second = await startRuntime({ data, tasks: FIXTURE_TASKS });
    try {
      expect(second.types().map((t) => t.name)).not.toContain('blob');
      const failed = await waitForState(second, task.id);
      expect(failed.reason).toBe('invalid');
      expect((await second.list({ type: 'blob' })).tasks.map((t) => t.id)).toEqual([task.id]);
    } finally {
      await second.stop(2000);
    }
  });

  it('keeps memory flat over 200 list calls with distinct 500 KB type names (5.5 GB for 1,000 before)', async () => {
    const before = process.memoryUsage().rss;
    const codes = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const type = `${'t'.repeat(500_000)}${i}`;
      codes.add(await client.list({ type }).then(() => 'answered', (err: SpindleError) => err.code));
    }
    const grown = process.memoryUsage().rss - before;
    process.stdout.write(`input-sizes.test: rss +${Math.round(grown / MB)} MB after 200 lists with 500 KB types\n`);
    expect(grown).toBeLessThan(100 * MB);
    expect([...codes]).toEqual(['INVALID_ARGUMENT']);
  });

  it('caches index prefixes for at most MAX_CACHED_TYPES types, however many names it is asked for', async () => {
    for (let i = 0; i < 2 * MAX_CACHED_TYPES; i++) expect(typeStatePrefix(`made-up-${i}`, 'queued')).toBe(`y!made-up-${i}!queued!`);
    expect(cachedPrefixTypes()).toBeLessThanOrEqual(MAX_CACHED_TYPES);
    // Valid names the runtime does not know never reach the cache through a read.
    const cached = cachedPrefixTypes();
    for (let i = 0; i < 100; i++) await refusal(runtime.list({ type: `never-seen-${i}` }));
    expect(cachedPrefixTypes()).toBe(cached);
  });
});

describe('issue 14.4: every string a client sends is capped, the refusal naming the field', () => {
  it('refuses over-long ids, cursors, states, types, event filters, subscriptions and instants with INVALID_ARGUMENT', async () => {
    const long = (n: number): string => 'a'.repeat(n);
    expect(await refusedOver('task.get', { id: long(65) })).toEqual({ code: 'INVALID_ARGUMENT', field: 'id' });
    expect(await refusedOver('task.cancel', { id: long(100_000) })).toEqual({ code: 'INVALID_ARGUMENT', field: 'id' });
    expect(await refusedOver('task.runs', { id: long(65) })).toEqual({ code: 'INVALID_ARGUMENT', field: 'id' });
    expect(await refusedOver('task.list', { cursor: long(65) })).toEqual({ code: 'INVALID_ARGUMENT', field: 'cursor' });
    expect(await refusedOver('task.list', { state: long(33) })).toEqual({ code: 'INVALID_ARGUMENT', field: 'state' });
    expect(await refusedOver('task.list', { type: long(101) })).toEqual({ code: 'INVALID_ARGUMENT', field: 'type' });
    expect(await refusedOver('events.subscribe', { taskId: long(65) })).toEqual({ code: 'INVALID_ARGUMENT', field: 'taskId' });
    expect(await refusedOver('events.subscribe', { types: [long(100_000)] })).toEqual({ code: 'INVALID_ARGUMENT', field: 'types' });
    expect(await refusedOver('events.subscribe', { types: Array(100).fill('task.state') })).toEqual({ code: 'INVALID_ARGUMENT', field: 'types' });
    expect(await refusedOver('events.unsubscribe', { subscription: long(65) })).toEqual({ code: 'INVALID_ARGUMENT', field: 'subscription' });
    expect(await refusedOver('schedule.preview', { schedule: { every: '1h' }, count: 1, after: long(65) })).toEqual({ code: 'INVALID_ARGUMENT', field: 'after' });
    expect((await refusedOver('task.submit', { type: 'blob', key: long(100_000) })).field).toBe('key');
    expect((await refusedOver('task.submit', { type: long(100_000) })).code).toBe('UNKNOWN_TYPE');
    // The connection is still good.
    expect((await client.stats()).uptimeMs).toBeGreaterThanOrEqual(0);
  });

  it('refuses a JSON-RPC string id over 256 characters with -32600, and keeps the connection usable', async () => {
    const socket = connect(join(runtime.options.data, 'spindle.sock'));
    socket.setEncoding('utf8');
    let got = '';
    const lines = new Promise<string[]>((resolve) => socket.on('data', (c: string) => {
      got += c;
      const all = got.split('\n').filter((l) => l !== '');
      if (all.length === 2) resolve(all);
    }));
    socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: 'i'.repeat(257), method: 'runtime.stats' })}\n`);
    socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: 'i'.repeat(256), method: 'runtime.stats' })}\n`);
    const [refused, answered] = (await lines).map((l) => JSON.parse(l));
    socket.destroy();
    expect(refused.error.code).toBe(-32600);
    expect(refused.id).toBeNull();
    expect(answered.id).toBe('i'.repeat(256));
    expect(answered.result.uptimeMs).toBeGreaterThanOrEqual(0);
  });
});
