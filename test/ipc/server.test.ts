import { linkSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/index.js';
import { SpindleError } from '../../src/errors.js';
import { IpcServer, type IpcServerOptions } from '../../src/ipc/server.js';
import type { RpcId } from '../../src/ipc/protocol.js';
import { removeTempDirs, startRuntime, tempDir, until, waitForState } from '../helpers/runtime.js';

interface Message {
  jsonrpc: '2.0';
  id?: RpcId;
  result?: any;
  error?: { code: number; message: string; data: { code: string; [k: string]: unknown } };
  method?: string;
  params?: any;
}

/** A raw line-oriented client: what it receives is kept until a test takes it with `next`. */
class TestClient {
  readonly socket: Socket;
  readonly closed: Promise<void>;
  readonly #inbox: Message[] = [];
  readonly #waiters: Array<{ pick: (m: Message) => boolean; resolve: (m: Message) => void }> = [];
  #buffer = '';
  #nextId = 1;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    // The server may cut us off mid-write (EPIPE, ECONNRESET): that is what some tests provoke.
    socket.on('error', () => {});
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      for (let nl = this.#buffer.indexOf('\n'); nl !== -1; nl = this.#buffer.indexOf('\n')) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        this.#deliver(JSON.parse(line) as Message);
      }
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static connect(path: string): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('connect', () => resolve(new TestClient(socket)));
      socket.once('error', reject);
    });
  }

  get received(): number {
    return this.#inbox.length;
  }

  write(raw: string): void {
    this.socket.write(raw);
  }

  next(pick: (m: Message) => boolean = () => true): Promise<Message> {
    const i = this.#inbox.findIndex(pick);
    if (i !== -1) return Promise.resolve(this.#inbox.splice(i, 1)[0]!);
    return new Promise((resolve) => this.#waiters.push({ pick, resolve }));
  }

  request(method: string, params?: unknown): Promise<Message> {
    const id = this.#nextId++;
    this.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) })}\n`);
    return this.next((m) => m.id === id);
  }

  async call(method: string, params?: unknown): Promise<any> {
    const reply = await this.request(method, params);
    if (reply.error) throw new Error(`${method} failed: ${JSON.stringify(reply.error)}`);
    return reply.result;
  }

  close(): Promise<void> {
    this.socket.end();
    return this.closed;
  }

  #deliver(m: Message): void {
    const w = this.#waiters.findIndex((x) => x.pick(m));
    if (w === -1) this.#inbox.push(m);
    else this.#waiters.splice(w, 1)[0]!.resolve(m);
  }
}

const silent = pino({ level: 'silent' });
let runtime: Runtime;
const servers: IpcServer[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  runtime = await startRuntime();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await runtime.stop(2000);
  removeTempDirs();
});

async function serve(options: Partial<Omit<IpcServerOptions, 'log'>> = {}, rt: Runtime = runtime): Promise<IpcServer> {
  const server = await IpcServer.listen(rt, { socketPath: join(tempDir('spx-'), 's.sock'), log: silent, ...options });
  servers.push(server);
  return server;
}

async function client(server: IpcServer): Promise<TestClient> {
  const c = await TestClient.connect(server.socketPath);
  clients.push(c);
  return c;
}

function taskCount(): number {
  return Object.values(runtime.stats().states).reduce((a, b) => a + b, 0);
}

async function listenError(socketPath: string): Promise<SpindleError> {
  try {
    servers.push(await IpcServer.listen(runtime, { socketPath, log: silent }));
  } catch (err) {
    if (err instanceof SpindleError) return err;
    throw err;
  }
  throw new Error('expected listen to fail');
}

describe('IPC requests (SPEC §6)', () => {
  it('submits, gets and follows a task to finished through an events subscription', async () => {
    const c = await client(await serve());
    const { subscription } = await c.call('events.subscribe', { types: ['task.state'], type: 'echo' });
    const task = await c.call('task.submit', { type: 'echo', params: { hello: 'socket' } });
    expect(task).toMatchObject({ type: 'echo', params: { hello: 'socket' } });
    expect(await c.call('task.get', { id: task.id })).toMatchObject({ id: task.id, type: 'echo' });
    const finished = await c.next((m) => m.method === 'event' && m.params.data.id === task.id && m.params.data.to === 'finished');
    expect(finished.params).toMatchObject({ subscription, event: 'task.state' });
    expect(await c.call('task.get', { id: task.id })).toMatchObject({ state: 'finished', lastRun: { output: { hello: 'socket' } } });
    expect(await c.call('events.unsubscribe', { subscription })).toEqual({ ok: true });
  });

  it('I4: answers malformed JSON with -32700 and keeps the connection usable', async () => {
    const c = await client(await serve());
    c.write('{"jsonrpc":"2.0","id":1,"method":\n');
    const reply = await c.next();
    expect(reply).toMatchObject({ id: null, error: { code: -32700, data: { code: 'BAD_REQUEST' } } });
    expect(await c.call('runtime.stats')).toHaveProperty('states');
  });

  it('I4: answers non-object envelopes with -32600 and bad params with BAD_REQUEST', async () => {
    const c = await client(await serve());
    for (const line of ['[1,2]', '42', '"x"', 'null', '{"jsonrpc":"1.0","id":1,"method":"type.list"}', '{"jsonrpc":"2.0","id":{},"method":"type.list"}']) {
      c.write(`${line}\n`);
      expect((await c.next()).error).toMatchObject({ code: -32600, data: { code: 'BAD_REQUEST' } });
    }
    c.write('{"jsonrpc":"2.0","id":"p","method":"task.get","params":["x"]}\n');
    expect(await c.next((m) => m.id === 'p')).toMatchObject({ error: { code: -32602, data: { code: 'BAD_REQUEST', field: 'params' } } });
  });

  it('answers an unknown method with -32601', async () => {
    const c = await client(await serve());
    const reply = await c.request('task.explode', {});
    expect(reply.error).toMatchObject({ code: -32601, data: { code: 'BAD_REQUEST' } });
  });

  it('refuses wrong param types with BAD_REQUEST naming the field', async () => {
    const c = await client(await serve());
    const cases: Array<[string, unknown, string]> = [
      ['task.get', { id: 42 }, 'id'],
      ['task.get', {}, 'id'],
      ['task.list', { limit: '10' }, 'limit'],
      ['task.list', { state: 1 }, 'state'],
      ['task.pending', { type: ['noop'] }, 'type'],
      ['task.submitMany', { tasks: { type: 'noop' } }, 'tasks'],
      ['task.submitMany', { tasks: Array.from({ length: 10_001 }, () => ({ type: 'noop' })) }, 'tasks'],
      ['events.subscribe', { types: 'task.state' }, 'types'],
      ['events.unsubscribe', { subscription: 7 }, 'subscription'],
      ['schedule.preview', { schedule: { every: '1m' } }, 'count'],
    ];
    for (const [method, params, field] of cases) {
      const reply = await c.request(method, params);
      expect(reply.error, method).toMatchObject({ code: -32602, data: { code: 'BAD_REQUEST', field } });
    }
    expect((await c.request('task.list', { limit: 5000 })).error?.data).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'limit' });
    expect((await c.request('task.get', { id: 'nope' })).error).toMatchObject({ code: -32003, data: { code: 'NOT_FOUND' } });
    expect((await c.request('events.unsubscribe', { subscription: 's99' })).error?.data.code).toBe('NOT_FOUND');
  });

  it('previews a schedule without submitting it', async () => {
    const c = await client(await serve());
    const before = taskCount();
    const { times } = await c.call('schedule.preview', { schedule: { every: '1h', start: '2030-01-01T00:00:00Z' }, count: 3, after: '2030-01-01T00:00:00Z' });
    expect(times).toEqual(['2030-01-01T01:00:00.000Z', '2030-01-01T02:00:00.000Z', '2030-01-01T03:00:00.000Z']);
    expect(taskCount()).toBe(before);
  });

  it('answers a fast request before a slow one sent ahead of it on the same connection', async () => {
    const c = await client(await serve());
    const order: RpcId[] = [];
    const slow = { jsonrpc: '2.0', id: 'slow', method: 'task.submitMany', params: { tasks: Array.from({ length: 2_000 }, () => ({ type: 'noop', schedule: { in: '1h' } })) } };
    c.write(`${JSON.stringify(slow)}\n{"jsonrpc":"2.0","method":"runtime.stats"}\n{"jsonrpc":"2.0","id":"fast","method":"runtime.stats"}\n`);
    const [a, b] = await Promise.all(['slow', 'fast'].map((id) => c.next((m) => m.id === id).then((m) => { order.push(id); return m; })));
    expect(order).toEqual(['fast', 'slow']);
    expect(a!.result).toHaveLength(2_000);
    expect(b!.result).toHaveProperty('workers');
    // The notification (no id) got no answer.
    expect(c.received).toBe(0);
  });

  it('decodes UTF-8 characters split across chunks', async () => {
    const c = await client(await serve());
    const bytes = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"task.submit","params":{"type":"echo","params":{"s":"héllo 😀"}}}\n');
    for (const byte of bytes) await new Promise<void>((resolve) => c.socket.write(Buffer.of(byte), () => resolve()));
    expect((await c.next((m) => m.id === 1)).result.params).toEqual({ s: 'héllo 😀' });
  });
});

describe('long answers over the socket', () => {
  it('answers a 1,000-task submitMany in one line: compact JSON, the tasks in order', async () => {
    const server = await serve();
    const socket = connect(server.socketPath);
    await new Promise((resolve) => socket.once('connect', resolve));
    const tasks = Array.from({ length: 1_000 }, (_, i) => ({ type: 'echo', params: { i, s: 'é😀' }, schedule: { in: '1h' } }));
    const received: Buffer[] = [];
    const line = new Promise<string>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        received.push(chunk);
        if (chunk.includes(0x0a)) resolve(Buffer.concat(received).toString('utf8'));
      });
    });
    socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: 'many', method: 'task.submitMany', params: { tasks } })}\n`);
    const text = await line;
    socket.destroy();
    expect(text.indexOf('\n')).toBe(text.length - 1);
    const message = JSON.parse(text) as Message;
    // The bytes are those of the message stringified whole, as for any other answer.
    expect(text).toBe(`${JSON.stringify(message)}\n`);
    expect(Object.keys(message)).toEqual(['jsonrpc', 'id', 'result']);
    expect(message.id).toBe('many');
    expect(message.result.map((t: { params: unknown }) => t.params)).toEqual(tasks.map((t) => t.params));
    expect(new Set(message.result.map((t: { id: string }) => t.id)).size).toBe(1_000);
    expect(await runtime.get(message.result[999].id)).toMatchObject({ id: message.result[999].id, params: { i: 999 } });
  });
});

describe('IPC faults (RELIABILITY I1, I3, I4, L2; more in test/reliability/ipc-faults.test.ts)', () => {
  it('I3: accepts a line of exactly the frame limit', async () => {
    const limit = 64 * 1024;
    const c = await client(await serve({ maxFrameBytes: limit }));
    const head = '{"jsonrpc":"2.0","id":1,"method":"task.submit","params":{"type":"echo","params":{"pad":"';
    const tail = '"}}}';
    c.write(`${head}${'x'.repeat(limit - head.length - tail.length)}${tail}\n`);
    expect((await c.next((m) => m.id === 1)).result).toMatchObject({ type: 'echo' });
  });

  it('I3: refuses a line over the frame limit with FRAME_TOO_LARGE, closes, and creates nothing', async () => {
    const c = await client(await serve({ maxFrameBytes: 64 * 1024 }));
    const before = taskCount();
    c.write(`{"jsonrpc":"2.0","id":1,"method":"task.submit","params":{"type":"noop","params":{"pad":"${'x'.repeat(100 * 1024)}"}}}\n`);
    const reply = await c.next();
    expect(reply).toMatchObject({ id: null, error: { code: -32007, data: { code: 'FRAME_TOO_LARGE' } } });
    await c.closed;
    expect(taskCount()).toBe(before);
  });

  it('I3: cuts off an endless line at the frame limit without reading the rest', async () => {
    const c = await client(await serve({ maxFrameBytes: 64 * 1024 }));
    const chunk = Buffer.alloc(256 * 1024, 'x');
    let open = true;
    void c.closed.then(() => { open = false; });
    const pump = (): void => {
      while (open && c.socket.write(chunk));
    };
    c.socket.on('drain', pump);
    c.write('{"jsonrpc":"2.0","id":1,"method":"task.submit","params":{"type":"noop","params":{"pad":"');
    pump();
    expect(await c.next()).toMatchObject({ id: null, error: { data: { code: 'FRAME_TOO_LARGE', limit: 64 * 1024 } } });
    await c.closed;
  });

  it('I1: closes a connection that starts a line and goes silent with FRAME_TIMEOUT', async () => {
    const server = await serve({ frameTimeoutMs: 300 });
    const c = await client(server);
    c.write('{"jsonrpc":"2.0","id":1,"method":"task.sub');
    expect(await c.next()).toMatchObject({ id: null, error: { data: { code: 'FRAME_TIMEOUT' } } });
    await c.closed;
    await until(() => server.connections === 0);
  });

  it('I1: closes a connection that trickles a line byte by byte past the frame timeout', async () => {
    const c = await client(await serve({ frameTimeoutMs: 300 }));
    const trickle = setInterval(() => c.socket.write(' '), 20);
    c.write('{');
    try {
      expect(await c.next()).toMatchObject({ error: { data: { code: 'FRAME_TIMEOUT' } } });
      await c.closed;
    } finally {
      clearInterval(trickle);
    }
  });

  it('I1: keeps an idle connection with no partial line open past the frame timeout', async () => {
    const server = await serve({ frameTimeoutMs: 300 });
    const idle = await client(server);
    // A partial line on a second connection times out: by then the idle one has waited as long.
    const partial = await client(server);
    partial.write('{');
    await partial.closed;
    expect(await idle.call('runtime.stats')).toHaveProperty('states');
  });

  it('I1: drops half a frame when the client disconnects: no task, server still serving', async () => {
    const server = await serve();
    const before = taskCount();
    const c = await client(server);
    c.write('{"jsonrpc":"2.0","id":1,"method":"task.submit","params":{"type":"noop"');
    await c.close();
    await until(() => server.connections === 0);
    const next = await client(server);
    expect(await next.call('runtime.stats')).toHaveProperty('states');
    expect(taskCount()).toBe(before);
  });

  it('I4: treats __proto__ and constructor keys as plain data', async () => {
    const c = await client(await serve());
    const evil = '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}';
    c.write('{"jsonrpc":"2.0","id":1,"method":"task.submit","params":{"__proto__":{"polluted":1},"type":"echo"}}\n');
    expect((await c.next((m) => m.id === 1)).error?.data).toMatchObject({ code: 'BAD_REQUEST', field: '__proto__' });
    c.write(`{"jsonrpc":"2.0","id":2,"__proto__":{"id":9},"method":"task.submit","params":{"type":"echo","params":${evil}}}\n`);
    const task = (await c.next((m) => m.id === 2)).result;
    expect(Object.hasOwn(task.params, '__proto__')).toBe(true);
    c.write('{"jsonrpc":"2.0","id":3,"method":"task.list","params":{"__proto__":{"limit":"x"},"limit":1}}\n');
    expect((await c.next((m) => m.id === 3)).result.tasks).toHaveLength(1);
    c.write(`{"jsonrpc":"2.0","id":4,"method":"events.subscribe","params":${evil}}\n`);
    expect((await c.next((m) => m.id === 4)).result).toHaveProperty('subscription');
    // The handler ran on the hostile params in a worker and its output came back through the store.
    const done = await waitForState(runtime, task.id);
    expect(done.lastRun?.output).toEqual(JSON.parse(evil));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('I4: answers 10,000-deep nesting and stays usable', async () => {
    const c = await client(await serve());
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const before = taskCount();
    c.write(`${deep}\n`);
    expect((await c.next()).error).toMatchObject({ code: -32600, data: { code: 'BAD_REQUEST' } });
    c.write(`{"jsonrpc":"2.0","id":"deep","method":"task.submit","params":{"type":"echo","params":{"x":${deep}}}}\n`);
    expect((await c.next((m) => m.id === 'deep')).error?.data).toMatchObject({ code: 'BAD_REQUEST', field: 'params' });
    expect(taskCount()).toBe(before);
    expect(await c.call('runtime.stats')).toHaveProperty('states');
  });

  it('I1: refuses connections over the cap with TOO_MANY_CONNECTIONS and serves the rest', async () => {
    const server = await serve({ maxConnections: 2 });
    const a = await client(server);
    const b = await client(server);
    await Promise.all([a.call('runtime.stats'), b.call('runtime.stats')]);
    const extra = await client(server);
    expect(await extra.next()).toMatchObject({ id: null, error: { code: -32009, data: { code: 'TOO_MANY_CONNECTIONS' } } });
    await extra.closed;
    await a.close();
    await until(() => server.connections === 1);
    const again = await client(server);
    expect(await again.call('runtime.stats')).toHaveProperty('states');
  });

  it('I1: a burst of 1,000 connects made in one turn of the loop, before it can accept any, is queued, none refused by the kernel', async () => {
    const server = await serve({ maxConnections: 2000 });
    // All in one turn: each connect(2) of a Unix socket is made at once and fails at once (EAGAIN) when the backlog is full.
    const sockets = Array.from({ length: 1000 }, () => connect(server.socketPath));
    try {
      const outcomes = await Promise.all(sockets.map((socket) => new Promise<string>((resolve) => {
        socket.once('connect', () => resolve('connected'));
        socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      })));
      expect(outcomes.filter((o) => o !== 'connected')).toEqual([]);
      await until(() => server.connections === 1000);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });

  it('L2: disconnects a client that never reads while 5,000 events stream, and unsubscribes it', async () => {
    const server = await serve({ maxPendingWriteBytes: 16 * 1024 });
    const c = await client(server);
    await c.call('events.subscribe', { type: 'noop' });
    c.socket.pause();
    let seen = 0;
    const streamed = new Promise<void>((resolve) => {
      const stop = runtime.subscribe({ type: 'noop' }, () => {
        if (++seen === 5_000) {
          stop();
          resolve();
        }
      });
    });
    await runtime.submitMany(Array.from({ length: 1_500 }, () => ({ type: 'noop' })));
    await streamed;
    await until(() => server.connections === 0);
    c.socket.resume();
    await c.closed;
    expect(c.received).toBeLessThan(5_000);
  });

  it('L2: serves 40 concurrent clients submitting 50 tasks each, every reply matching its request', async () => {
    const server = await serve();
    const cs = await Promise.all(Array.from({ length: 40 }, () => client(server)));
    const results = await Promise.all(cs.map(async (c, ci) => {
      const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ jsonrpc: '2.0', id: `${ci}:${i}`, method: 'task.submit', params: { type: 'echo', params: { ci, i } } }));
      c.write(`${lines.join('\n')}\n`);
      return Promise.all(Array.from({ length: 50 }, async (_, i) => {
        const reply = await c.next((m) => m.id === `${ci}:${i}`);
        expect(reply.result.params).toEqual({ ci, i });
        return reply.result.id as string;
      }));
    }));
    const ids = new Set(results.flat());
    expect(ids.size).toBe(2_000);
    const stored = await Promise.all([...ids].map((id) => runtime.get(id)));
    expect(stored.every((t, k) => t.id === [...ids][k])).toBe(true);
  });
});

describe('bad input under load (RELIABILITY I4, L2)', () => {
  it('I4: serves 40 clients submitting while other clients send every kind of bad input, and nobody else notices', async () => {
    const server = await serve({ maxFrameBytes: 64 * 1024, frameTimeoutMs: 300 });
    const good = await Promise.all(Array.from({ length: 40 }, () => client(server)));
    const submits = good.map(async (c, ci) => {
      for (let i = 0; i < 25; i++) {
        const task = await c.call('task.submit', { type: 'echo', params: { ci, i } });
        expect(task.params).toEqual({ ci, i });
      }
    });
    const bad = async (send: (c: TestClient) => Promise<void>): Promise<void> => send(await client(server));
    const abuse = [
      bad(async (c) => {
        for (let i = 0; i < 50; i++) c.write('{not json\n');
        for (let i = 0; i < 50; i++) expect((await c.next()).error?.code).toBe(-32700);
        expect(await c.call('runtime.stats')).toHaveProperty('states');
      }),
      bad(async (c) => {
        expect((await c.request('no.such.method')).error?.code).toBe(-32601);
        expect((await c.request('task.get', { id: 7 })).error?.data).toMatchObject({ code: 'BAD_REQUEST', field: 'id' });
        expect((await c.request('task.submit', { type: 'echo', params: { __proto__: { polluted: 1 } } })).result).toHaveProperty('id');
      }),
      bad(async (c) => {
        c.write(`${'['.repeat(50_000)}\n`);
        expect((await c.next()).error?.code).toBe(-32700);
      }),
      bad(async (c) => {
        c.write(`{"jsonrpc":"2.0","id":1,"method":"task.submit","params":{"type":"echo","params":"${'x'.repeat(70_000)}"}}\n`);
        expect((await c.next()).error?.data.code).toBe('FRAME_TOO_LARGE');
        await c.closed;
      }),
      bad(async (c) => {
        c.write('{"jsonrpc":"2.0","id":1,"method":"task.sub');
        expect((await c.next()).error?.data.code).toBe('FRAME_TIMEOUT');
        await c.closed;
      }),
      bad(async (c) => {
        c.write('{"jsonrpc":"2.0","id":1,"method":"task.submit","params":{"type":"ec');
        c.socket.destroy();
      }),
    ];
    await Promise.all([...submits, ...abuse]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const again = await client(server);
    expect(await again.call('runtime.stats')).toHaveProperty('states');
  });

  it('L2: answers every one of 5,000 requests pipelined on one connection (the server reads no further than 1,024 in flight)', async () => {
    const c = await client(await serve());
    const lines = Array.from({ length: 5_000 }, (_, i) => JSON.stringify({ jsonrpc: '2.0', id: i, method: 'task.submit', params: { type: 'noop', schedule: { in: '1h' } } }));
    c.write(`${lines.join('\n')}\n`);
    const replies = await Promise.all(Array.from({ length: 5_000 }, (_, i) => c.next((m) => m.id === i)));
    expect(replies.every((r) => typeof r.result?.id === 'string')).toBe(true);
    expect(new Set(replies.map((r) => r.result.id)).size).toBe(5_000);
  });
});

describe('the socket file (SPEC §5, RELIABILITY X1)', () => {
  it('creates the socket 0600 under umask 0 and leaves the data directory as it was', async () => {
    const dataDir = runtime.options.data;
    const dirMode = statSync(dataDir).mode & 0o777;
    const old = process.umask(0);
    try {
      const server = await serve({ socketPath: join(dataDir, 'spindle.sock') });
      expect(statSync(server.socketPath).mode & 0o777).toBe(0o600);
      expect(statSync(dataDir).mode & 0o777).toBe(dirMode);
      expect(process.umask()).toBe(0);
    } finally {
      process.umask(old);
    }
  });

  it('replaces a stale socket nobody answers', async () => {
    const dir = tempDir('spx-');
    const live = join(dir, 'live.sock');
    const stale = join(dir, 's.sock');
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(live, resolve));
    linkSync(live, stale);
    await new Promise<void>((resolve) => holder.close(() => resolve()));
    expect(lstatSync(stale).isSocket()).toBe(true);
    const server = await serve({ socketPath: stale });
    expect(await (await client(server)).call('runtime.stats')).toHaveProperty('states');
  });

  it('refuses a live socket with ALREADY_RUNNING and leaves it serving', async () => {
    const server = await serve();
    expect((await listenError(server.socketPath)).code).toBe('ALREADY_RUNNING');
    expect(await (await client(server)).call('runtime.stats')).toHaveProperty('states');
  });

  it('refuses a regular file, a directory or a symlink at the path with SOCKET_PATH_IN_USE and leaves it', async () => {
    const dir = tempDir('spx-');
    const file = join(dir, 'file.sock');
    writeFileSync(file, 'keep me');
    const folder = join(dir, 'dir.sock');
    mkdirSync(folder);
    const target = join(dir, 'target');
    writeFileSync(target, 'target');
    const link = join(dir, 'link.sock');
    symlinkSync(target, link);
    const dangling = join(dir, 'dangling.sock');
    symlinkSync(join(dir, 'nowhere'), dangling);
    for (const path of [file, folder, link, dangling]) {
      const err = await listenError(path);
      expect(err.code, path).toBe('SOCKET_PATH_IN_USE');
      expect(err.details.path).toBe(path);
    }
    expect(readFileSync(file, 'utf8')).toBe('keep me');
    expect(statSync(folder).isDirectory()).toBe(true);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(lstatSync(dangling).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('target');
    expect(lstatSync(join(dir, 'nowhere'), { throwIfNoEntry: false })).toBeUndefined();
  });

  it('removes the socket on close, ends connections, and closes only once', async () => {
    const server = await serve();
    const c = await client(server);
    await c.call('runtime.stats');
    await Promise.all([server.close(), server.close()]);
    await c.closed;
    expect(lstatSync(server.socketPath, { throwIfNoEntry: false })).toBeUndefined();
  });
});

describe('runtime.stop over the socket', () => {
  it('answers ok, then stops the runtime', async () => {
    const rt = await startRuntime();
    const server = await serve({}, rt);
    const c = await client(server);
    expect(await c.call('runtime.stop', { grace: 1000 })).toEqual({ ok: true });
    await rt.stop();
    expect(rt.status).toBe('stopped');
    expect((await c.request('task.submit', { type: 'noop' })).error?.data.code).toBe('SHUTTING_DOWN');
  });
});
