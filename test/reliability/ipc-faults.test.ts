import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/client.js';
import type { Runtime } from '../../src/index.js';
import { IpcServer, type IpcServerOptions } from '../../src/ipc/server.js';
import { removeTempDirs, startRuntime, tempDir, until, waitForState } from '../helpers/runtime.js';
import { openFds, RawConnection } from './ipc-harness.js';

const TASKS = fileURLToPath(new URL('../fixtures/reply-tasks', import.meta.url));
const KB = 1024;
const MB = 1024 * 1024;

let runtime: Runtime;
const servers: IpcServer[] = [];
const conns: RawConnection[] = [];

beforeAll(async () => {
  runtime = await startRuntime({ tasks: TASKS });
});

afterEach(async () => {
  for (const c of conns.splice(0)) c.socket.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await runtime.stop(2000);
  removeTempDirs();
});

async function serve(options: Partial<Omit<IpcServerOptions, 'log'>> = {}, rt: Runtime = runtime): Promise<IpcServer> {
  const server = await IpcServer.listen(rt, { socketPath: join(tempDir('spf-'), 's.sock'), log: pino({ level: 'silent' }), ...options });
  servers.push(server);
  return server;
}

async function open(server: IpcServer): Promise<RawConnection> {
  const c = await RawConnection.open(server.socketPath);
  conns.push(c);
  return c;
}

function taskCount(rt: Runtime = runtime): number {
  return Object.values(rt.stats().states).reduce((a, b) => a + b, 0);
}

describe('I1: 1,000 connections that send half a frame and close, go silent, or trickle', () => {
  it('creates no task, closes the silent and trickling ones at the frame timeout, refuses those over the cap, serves the rest, and gives every file descriptor back', async () => {
    const server = await serve({ frameTimeoutMs: 1000, maxConnections: 256 });
    const good = await open(server);
    const fdsBefore = openFds();
    const tasksBefore = taskCount();
    const half = '{"jsonrpc":"2.0","id":1,"method":"task.submit","params":{"type":"blob","params":{';
    const trickles: NodeJS.Timeout[] = [];
    const storm = await Promise.all(Array.from({ length: 1000 }, async (_, i) => {
      const c = await RawConnection.open(server.socketPath);
      if (i % 3 === 0) {
        c.write(half);
        c.socket.end();
      } else if (i % 3 === 1) {
        c.write(half);
      } else {
        c.write('{');
        trickles.push(setInterval(() => c.write(' '), 200));
      }
      return c;
    }));
    try {
      // Served while the storm lasts.
      expect((await good.request('g', 'runtime.stats')).result).toHaveProperty('states');
      await Promise.all(storm.map((c) => c.closed));
    } finally {
      for (const t of trickles) clearInterval(t);
    }
    const codes = storm.flatMap((c) => c.messages.map((m) => m.error?.data?.code as string));
    const refused = codes.filter((c) => c === 'TOO_MANY_CONNECTIONS').length;
    const timedOut = codes.filter((c) => c === 'FRAME_TIMEOUT').length;
    process.stdout.write(`I1: 1000 hostile connections: ${refused} refused over the cap, ${timedOut} closed at the frame timeout\n`);
    expect(refused).toBeGreaterThan(0);
    expect(timedOut).toBeGreaterThan(0);
    expect(codes.every((c) => c === 'TOO_MANY_CONNECTIONS' || c === 'FRAME_TIMEOUT')).toBe(true);
    expect(taskCount()).toBe(tasksBefore);
    expect((await good.request('g2', 'runtime.stats')).result).toHaveProperty('states');
    await until(() => server.connections === 1);
    await until(() => openFds() <= fdsBefore);
    expect(openFds()).toBeLessThanOrEqual(fdsBefore);
  });
});

describe('I2: submits with a key whose connection closes before the reply', () => {
  it('stores one task per key over 1,000 such submits, resubmitting returns it, and the runtime lives through the EPIPEs', async () => {
    const rt = await startRuntime({ data: tempDir(), tasks: TASKS });
    try {
      const server = await serve({}, rt);
      const keys = Array.from({ length: 1000 }, (_, i) => `k-${i}`);
      const submit = (key: string): string => `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'task.submit', params: { type: 'blob', key, params: { key }, schedule: { in: '1h' } } })}\n`;
      for (let i = 0; i < keys.length; i += 100) {
        await Promise.all(keys.slice(i, i + 100).map(async (key) => {
          const c = await RawConnection.open(server.socketPath);
          c.write(submit(key));
          c.socket.destroy();
          await c.closed;
        }));
      }
      const client = await Client.connect({ socket: server.socketPath, reconnectWindowMs: 0 });
      try {
        const ids = await Promise.all(keys.map(async (key) => (await client.submit({ type: 'blob', key, params: { key }, schedule: { in: '1h' } })).id));
        expect(new Set(ids).size).toBe(keys.length);
        const again = await Promise.all(keys.map(async (key) => (await client.submit({ type: 'blob', key, params: { key }, schedule: { in: '1h' } })).id));
        expect(again).toEqual(ids);
        expect(rt.stats().types.blob?.queued).toBe(keys.length);
      } finally {
        await client.close();
      }
    } finally {
      await rt.stop(2000);
    }
  });
});

describe('I3: frames at and past the limit', () => {
  const limit = 64 * KB;
  const head = '{"jsonrpc":"2.0","id":1,"method":"task.submit","params":{"type":"blob","schedule":{"in":"1h"},"params":{"pad":"';
  const tail = '"}}}';
  const line = (bytes: number): string => `${head}${'x'.repeat(bytes - head.length - tail.length)}${tail}\n`;

  it('accepts a line of limit − 1 bytes', async () => {
    const c = await open(await serve({ maxFrameBytes: limit }));
    c.write(line(limit - 1));
    expect((await c.next((m) => m.id === 1)).result).toMatchObject({ type: 'blob' });
  });

  it('refuses a line of limit + 1 bytes with FRAME_TOO_LARGE, closes, and stores nothing', async () => {
    const c = await open(await serve({ maxFrameBytes: limit }));
    const before = taskCount();
    c.write(line(limit + 1));
    expect(await c.next()).toMatchObject({ id: null, error: { data: { code: 'FRAME_TOO_LARGE', limit } } });
    await c.closed;
    expect(taskCount()).toBe(before);
  });

  it('holds under 2 × the limit per connection while 10 connections each send a 100 MiB line', async () => {
    const frame = 4 * MB;
    const server = await serve({ maxFrameBytes: frame });
    const cs = await Promise.all(Array.from({ length: 10 }, () => open(server)));
    const before = process.memoryUsage().rss;
    let peak = before;
    const sample = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 5);
    try {
      await Promise.all(cs.map(async (c) => {
        c.write(head);
        await c.flood(100 * MB);
        await c.closed;
        expect(c.messages[0]).toMatchObject({ error: { data: { code: 'FRAME_TOO_LARGE' } } });
      }));
    } finally {
      clearInterval(sample);
    }
    const grown = peak - before;
    process.stdout.write(`I3: 10 connections × 100 MiB lines, 4 MiB limit: peak RSS +${Math.round(grown / MB)} MB\n`);
    expect(grown).toBeLessThan(10 * 2 * frame);
  });

  it('refuses params over maxParamsBytes with PAYLOAD_TOO_LARGE inside a frame that fits, and stores nothing', async () => {
    const c = await open(await serve());
    const before = taskCount();
    const reply = await c.request(1, 'task.submit', { type: 'blob', params: { pad: 'x'.repeat(300 * KB) } });
    expect(reply.error.data).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: 'params' });
    expect(taskCount()).toBe(before);
    expect((await c.request(2, 'runtime.stats')).result).toHaveProperty('states');
  });
});

describe('I4: hostile JSON', () => {
  it('answers arrays, numbers, strings and null where objects belong with an error each, the connection usable after each', async () => {
    const c = await open(await serve());
    const lines = ['[]', '[{"jsonrpc":"2.0","id":1,"method":"runtime.stats"}]', '7', '"s"', 'null', 'true',
      '{"jsonrpc":"2.0","id":2,"method":"task.get","params":[1]}', '{"jsonrpc":"2.0","id":3,"method":"task.get","params":5}',
      '{"jsonrpc":"2.0","id":5,"method":"task.submit","params":{"type":"blob","schedule":[]}}',
      '{"jsonrpc":"2.0","id":6,"method":"task.list","params":{"type":{"x":1}}}'];
    for (const [i, raw] of lines.entries()) {
      c.write(`${raw}\n`);
      expect((await c.next()).error, raw).toBeDefined();
      expect((await c.request(`ok${i}`, 'runtime.stats')).result).toHaveProperty('states');
    }
  });

  it('answers 10^6 keys with an error, small, and stays usable', async () => {
    const c = await open(await serve({ maxFrameBytes: 32 * MB }));
    const keys = `{${Array.from({ length: 1_000_000 }, (_, i) => `"k${i}":${i}`).join(',')}}`;
    const before = taskCount();
    c.write(`{"jsonrpc":"2.0","id":1,"method":"task.submit","params":{"type":"blob","params":${keys}}}\n`);
    const payload = await c.next((m) => m.id === 1);
    expect(payload.error.data.code).toBe('PAYLOAD_TOO_LARGE');
    c.write(`{"jsonrpc":"2.0","id":2,"method":"task.submit","params":${keys}}\n`);
    const fields = await c.next((m) => m.id === 2);
    expect(fields.error.data.code).toBe('BAD_REQUEST');
    expect(JSON.stringify(fields).length).toBeLessThan(16 * KB);
    expect(taskCount()).toBe(before);
    expect((await c.request(3, 'runtime.stats')).result).toHaveProperty('states');
  });

  it('refuses lone surrogates, in values and in keys, with INVALID_ARGUMENT naming the param (-32600 in the envelope); a well-formed pair is fine', async () => {
    const c = await open(await serve());
    const before = taskCount();
    const cases: Array<[string, string]> = [
      ['{"type":"blob","params":{"s":"\\ud800"}}', 'params'], ['{"type":"blob","params":{"\\udc00":1}}', 'params'],
      ['{"type":"\\udfff"}', 'type'], ['{"type":"blob","key":"a\\ud800b"}', 'key'], ['{"type":"blob","\\ud800":1}', 'params'],
    ];
    for (const [i, [params, field]] of cases.entries()) {
      c.write(`{"jsonrpc":"2.0","id":${i},"method":"task.submit","params":${params}}\n`);
      expect((await c.next((m) => m.id === i)).error).toMatchObject({ code: -32602, data: { code: 'INVALID_ARGUMENT', field } });
    }
    c.write('{"jsonrpc":"2.0","id":"\\ud800","method":"runtime.stats"}\n');
    expect((await c.next()).error).toMatchObject({ code: -32600, data: { code: 'BAD_REQUEST' } });
    expect(taskCount()).toBe(before);
    c.write('{"jsonrpc":"2.0","id":"pair","method":"task.submit","params":{"type":"blob","schedule":{"in":"1h"},"params":{"s":"\\ud83d\\ude00"}}}\n');
    expect((await c.next((m) => m.id === 'pair')).result.params).toEqual({ s: '😀' });
  });

  for (const mode of ['threads', 'processes'] as const) {
    it(`leaves ({}).polluted undefined in the runtime and in its workers (${mode}) after __proto__ and constructor.prototype keys`, async () => {
      const rt = mode === 'threads' ? runtime : await startRuntime({ data: tempDir(), tasks: TASKS, mode: 'processes' });
      try {
        const c = await open(await serve({}, rt));
        const evil = '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"a":{"__proto__":{"polluted":1}}}';
        c.write(`{"jsonrpc":"2.0","id":1,"__proto__":{"polluted":1},"method":"task.submit","params":{"type":"prototype-probe","params":${evil}}}\n`);
        const task = (await c.next((m) => m.id === 1)).result;
        const done = await waitForState(rt, task.id);
        expect(done.state).toBe('finished');
        expect(done.lastRun?.output).toEqual({ polluted: false, keys: 3 });
        expect(done.params).toEqual(JSON.parse(evil));
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
      } finally {
        if (rt !== runtime) await rt.stop(2000);
      }
    });
  }
});

describe('L2: many clients, a full queue and a client that stops reading', () => {
  it('10 clients × 200 submits against a maxQueued of 300 with a non-reader: every acknowledged task stored once, every reply matching its request, QUEUE_FULL for the rest, the non-reader cut off', async () => {
    const rt = await startRuntime({ data: tempDir(), tasks: TASKS });
    try {
      const server = await serve({ maxPendingWriteBytes: 64 * KB, writeTimeoutMs: 500 }, rt);
      const mute = await open(server);
      mute.socket.pause();
      const pad = 'p'.repeat(2 * KB);
      mute.write(Array.from({ length: 2000 }, (_, i) => `${JSON.stringify({ jsonrpc: '2.0', id: i, method: 'task.submit', params: { type: 'blob', params: { pad }, schedule: { in: '1h' } } })}\n`).join(''));
      const clients = await Promise.all(Array.from({ length: 10 }, () => open(server)));
      const acked: string[] = [];
      let full = 0;
      await Promise.all(clients.map(async (c, ci) => {
        c.write(Array.from({ length: 200 }, (_, i) => `${JSON.stringify({ jsonrpc: '2.0', id: `${ci}:${i}`, method: 'task.submit', params: { type: 'capped', params: { n: ci * 1000 + i }, schedule: { in: '1h' } } })}\n`).join(''));
        for (let i = 0; i < 200; i++) {
          const reply = await c.next((m) => m.id === `${ci}:${i}`);
          if (reply.error !== undefined) {
            expect(reply.error.data.code).toBe('QUEUE_FULL');
            full++;
          } else {
            expect(reply.result.params).toEqual({ n: ci * 1000 + i });
            acked.push(reply.result.id);
          }
        }
      }));
      expect(acked).toHaveLength(300);
      expect(full).toBe(2000 - 300);
      expect(new Set(acked).size).toBe(300);
      expect(rt.stats().types.capped?.queued).toBe(300);
      const stored = await Promise.all(acked.map((id) => rt.get(id)));
      expect(stored.map((t) => t.id)).toEqual(acked);
      await until(() => server.connections === 10);
      mute.socket.resume();
      await mute.closed;
      expect(mute.messages.length).toBeLessThan(2000);
    } finally {
      await rt.stop(2000);
    }
  });
});
