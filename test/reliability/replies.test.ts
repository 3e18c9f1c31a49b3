import { fileURLToPath } from 'node:url';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/client.js';
import { SpindleError } from '../../src/errors.js';
import { IpcServer } from '../../src/ipc/server.js';
import pino from 'pino';
import type { Runtime } from '../../src/index.js';
import { spindle } from '../helpers/cli.js';
import { removeTempDirs, startRuntime, tempDir, until, waitForState } from '../helpers/runtime.js';

const TASKS = fileURLToPath(new URL('../fixtures/reply-tasks', import.meta.url));
const KB = 1024;
const MB = 1024 * 1024;

/** Reads JSON lines off a raw socket, counting bytes per line, at the pace the test sets. */
class LineSocket {
  readonly socket: Socket;
  readonly lines: Array<{ bytes: number; msg: any }> = [];
  readonly closed: Promise<void>;
  #buffer = Buffer.alloc(0);
  #waiters: Array<() => void> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      for (let nl = this.#buffer.indexOf(10); nl !== -1; nl = this.#buffer.indexOf(10)) {
        const line = this.#buffer.subarray(0, nl);
        this.#buffer = this.#buffer.subarray(nl + 1);
        this.lines.push({ bytes: line.length, msg: JSON.parse(line.toString('utf8')) });
      }
      for (const w of this.#waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => socket.once('close', () => {
      for (const w of this.#waiters.splice(0)) w();
      resolve();
    }));
  }

  static open(path: string): Promise<LineSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('connect', () => resolve(new LineSocket(socket)));
      socket.once('error', reject);
    });
  }

  send(id: number, method: string, params: object): void {
    this.socket.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
  }

  /** Resolves once `n` lines arrived; rejects if the connection closes first. */
  async received(n: number): Promise<void> {
    while (this.lines.length < n) {
      if (this.socket.destroyed) throw new Error(`connection closed after ${this.lines.length} of ${n} replies`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }
}

let runtime: Runtime;
let data: string;
let socketPath: string;
const clients: Client[] = [];
const sockets: LineSocket[] = [];
/** 100 queued tasks of 250 KB params each: 25 MB of tasks, three times the 8 MiB unsent cap. */
const BIG_TASKS = 100;
const bigIds: string[] = [];

beforeAll(async () => {
  data = tempDir();
  runtime = await startRuntime({ data, tasks: TASKS, socket: true, maxOutputBytes: 256 * KB });
  socketPath = join(data, 'spindle.sock');
  const c = await connectClient();
  for (let i = 0; i < BIG_TASKS; i++) {
    const task = await c.submit({ type: 'blob', params: { i, pad: 'p'.repeat(250 * KB) }, schedule: { in: '1h' } });
    bigIds.push(task.id);
  }
}, 120_000);

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const s of sockets.splice(0)) s.socket.destroy();
});

afterAll(async () => {
  await runtime.stop(2000);
  removeTempDirs();
});

async function connectClient(options: { reconnectWindowMs?: number } = {}): Promise<Client> {
  const c = await Client.connect({ socket: socketPath, ...options });
  clients.push(c);
  return c;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SpindleError);
    return (err as SpindleError).code;
  }
  throw new Error('expected a rejection');
}

async function rawSocket(): Promise<LineSocket> {
  const s = await LineSocket.open(socketPath);
  sockets.push(s);
  return s;
}

describe('issue 14.2: a handler output over maxOutputBytes is refused, not stored', () => {
  it('fails a 10 MB output with OUTPUT_TOO_LARGE, and the task then reads back over the socket (get, wait, list)', async () => {
    const c = await connectClient();
    const task = await c.submit({ type: 'big-output', params: { bytes: 10 * MB }, maxTries: 1 });
    const done = await c.wait(task.id);
    expect(done.state).toBe('failed');
    expect(done.lastRun?.error?.code).toBe('OUTPUT_TOO_LARGE');
    expect(done.lastRun?.output).toBeNull();
    expect(JSON.stringify(await c.get(task.id)).length).toBeLessThan(16 * KB);
    const page = await c.list({ type: 'big-output', limit: 1 });
    expect(page.tasks.map((t) => t.id)).toEqual([task.id]);
  });

  it('stores an output of exactly maxOutputBytes', async () => {
    const c = await connectClient();
    // A string's JSON is its characters and two quotes.
    const task = await c.submit({ type: 'big-output', params: { bytes: 256 * KB - 2 }, maxTries: 1 });
    const done = await c.wait(task.id);
    expect(done.state).toBe('finished');
    expect((done.lastRun?.output as string).length).toBe(256 * KB - 2);
  });

  it('cuts a 10 MB handler error message to a few KiB in the run record', async () => {
    const c = await connectClient();
    const task = await c.submit({ type: 'big-error', params: { chars: 10 * MB }, maxTries: 1 });
    const done = await c.wait(task.id);
    expect(done.lastRun?.error?.code).toBe('HANDLER_ERROR');
    expect(JSON.stringify(done).length).toBeLessThan(64 * KB);
  });
});

describe('issue 14.2: replies are bounded by bytes, and a reading client is never cut off', () => {
  it('`spindle list --limit 1000` (the real CLI) over 25 MB of tasks answers one page under the reply cap, with a cursor', async () => {
    const ran = await spindle(['list', '--socket', socketPath, '--limit', '1000', '--type', 'blob', '--json']);
    expect(ran.code).toBe(0);
    const page = JSON.parse(ran.stdout) as { tasks: Array<{ id: string }>; cursor: string | null };
    expect(page.tasks.length).toBeGreaterThan(0);
    expect(page.tasks.length).toBeLessThan(BIG_TASKS);
    expect(page.cursor).toBe(page.tasks[page.tasks.length - 1]!.id);
    expect(Buffer.byteLength(JSON.stringify(page))).toBeLessThanOrEqual(4 * MB);
  });

  it('pages through every task by cursor: each page under the cap, every task once', async () => {
    const c = await connectClient();
    const seen: string[] = [];
    let cursor: string | null | undefined;
    do {
      const page: { tasks: Array<{ id: string }>; cursor: string | null } = await c.list({ type: 'blob', limit: 1000, ...(cursor ? { cursor } : {}) });
      expect(Buffer.byteLength(JSON.stringify(page))).toBeLessThanOrEqual(4 * MB);
      seen.push(...page.tasks.map((t) => t.id));
      cursor = page.cursor;
    } while (cursor !== null);
    expect(seen).toHaveLength(BIG_TASKS);
    expect(new Set(seen)).toEqual(new Set(bigIds));
  });

  it('ends a pending page early under the cap too', async () => {
    const c = await connectClient();
    const tasks = await c.pending({ type: 'blob', limit: 1000 });
    expect(tasks.length).toBeGreaterThan(0);
    expect(tasks.length).toBeLessThan(BIG_TASKS);
    expect(Buffer.byteLength(JSON.stringify(tasks))).toBeLessThanOrEqual(4 * MB);
  });

  it('answers 12 pipelined task.list calls of limit 1000 on one connection in full, without a disconnect', async () => {
    const s = await rawSocket();
    for (let id = 1; id <= 12; id++) s.send(id, 'task.list', { limit: 1000 });
    await s.received(12);
    expect(s.lines.map((l) => l.msg.id).sort((a, b) => a - b)).toEqual([...Array(12).keys()].map((i) => i + 1));
    for (const { bytes, msg } of s.lines) {
      expect(msg.error).toBeUndefined();
      expect(bytes).toBeLessThanOrEqual(4 * MB);
    }
    expect(s.socket.destroyed).toBe(false);
  });

  it('gives a client that reads slowly every reply of 6 pipelined 4 MiB pages, without a disconnect', async () => {
    const s = await rawSocket();
    // Read 64 KiB at a time with a pause between reads: far slower than the runtime writes.
    s.socket.pause();
    const drip = setInterval(() => {
      s.socket.resume();
      setImmediate(() => s.socket.pause());
    }, 5);
    try {
      for (let id = 1; id <= 6; id++) s.send(id, 'task.list', { type: 'blob', limit: 1000 });
      await s.received(6);
    } finally {
      clearInterval(drip);
      s.socket.resume();
    }
    expect(s.lines.every((l) => l.msg.result !== undefined)).toBe(true);
    expect(s.socket.destroyed).toBe(false);
  });
});

describe('issue 14.2: a task\'s runs come in parts under the reply cap', () => {
  it('answers the runs of a task whose outputs pass maxReplyBytes in order, in parts, every run once', async () => {
    const rt = await startRuntime({ data: tempDir(), tasks: TASKS, socket: true, maxReplyBytes: 128 * KB });
    try {
      const task = await rt.submit({ type: 'big-output', params: { bytes: 40 * KB }, schedule: { every: '20ms', count: 10 }, misfire: 'all' });
      expect((await waitForState(rt, task.id)).runCount).toBe(10);
      const c = await Client.connect({ socket: join(rt.options.data, 'spindle.sock'), reconnectWindowMs: 0 });
      clients.push(c);
      const seen: number[] = [];
      let parts = 0;
      for (let after = 0; seen.length < 10; parts++) {
        const runs = await c.runs(task.id, { after });
        expect(runs.length).toBeGreaterThan(0);
        expect(Buffer.byteLength(JSON.stringify(runs))).toBeLessThanOrEqual(128 * KB);
        seen.push(...runs.map((r) => r.run));
        after = runs[runs.length - 1]!.run;
      }
      expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(parts).toBeGreaterThan(1);
      expect(await c.runs(task.id, { after: 10 })).toEqual([]);
    } finally {
      await rt.stop(2000);
    }
  });
});

describe('issue 14.2: a task\'s history comes in parts under the reply cap', () => {
  it('answers a history longer than maxReplyBytes in order, in parts, every transition once', async () => {
    const rt = await startRuntime({ data: tempDir(), tasks: TASKS, socket: true, maxReplyBytes: 64 * KB });
    try {
      // misfire 'all': every fire time runs, so 1,000 runs, about 170 KB of transitions.
      const task = await rt.submit({ type: 'blob', schedule: { every: '2ms', count: 1000 }, misfire: 'all' });
      const done = await waitForState(rt, task.id);
      expect(done.runCount).toBe(1000);
      const c = await Client.connect({ socket: join(rt.options.data, 'spindle.sock'), reconnectWindowMs: 0 });
      clients.push(c);
      const all: Array<{ from: string; to: string }> = [];
      let parts = 0;
      for (;; parts++) {
        const part = await c.history(task.id, { after: all.length });
        if (part.length === 0) break;
        expect(Buffer.byteLength(JSON.stringify(part))).toBeLessThanOrEqual(64 * KB);
        all.push(...part);
      }
      expect(parts).toBeGreaterThan(1);
      expect(all[0]).toMatchObject({ from: 'none', to: 'spooled' });
      expect(all[all.length - 1]).toMatchObject({ to: 'finished' });
      expect(all.filter((h) => h.to === 'running')).toHaveLength(done.runCount);
    } finally {
      await rt.stop(2000);
    }
  });
});

describe('issue 14.2: a client never resends a read for ever', () => {
  it('rejects a read with CONNECTION_LOST after its connection dropped a few times, instead of resending it endlessly', async () => {
    // A peer that drops every connection as soon as a request arrives: what the runtime did to a reply over 8 MiB.
    const path = join(tempDir('spr-'), 'drop.sock');
    let connections = 0;
    const server = createServer((sock) => {
      connections++;
      sock.on('error', () => {});
      sock.once('data', () => sock.destroy());
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const c = await Client.connect({ socket: path, reconnectWindowMs: 0 });
      clients.push(c);
      expect(await codeOf(c.list({ limit: 1 }))).toBe('CONNECTION_LOST');
      expect(connections).toBeLessThanOrEqual(5);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('L2: a client that stops reading is cut off at its buffer cap; readers are served', () => {
  it('cuts off a client that never reads its 4 MiB list replies once its buffer is full, and serves another client meanwhile', async () => {
    const server = await IpcServer.listen(runtime, {
      socketPath: join(tempDir('spl-'), 's.sock'), log: pino({ level: 'silent' }), maxPendingWriteBytes: 256 * KB, writeTimeoutMs: 500,
    });
    try {
      const mute = await LineSocket.open(server.socketPath);
      sockets.push(mute);
      mute.socket.pause();
      for (let id = 1; id <= 200; id++) mute.send(id, 'task.list', { type: 'blob', limit: 1000 });
      const reader = await Client.connect({ socket: server.socketPath, reconnectWindowMs: 0 });
      clients.push(reader);
      let served = 0;
      await until(async () => {
        expect((await reader.list({ type: 'blob', limit: 2 })).tasks).toHaveLength(2);
        served++;
        return server.connections === 1;
      });
      expect(served).toBeGreaterThan(0);
      // What reached it before the cut: far fewer than the 200 pages it asked for.
      mute.socket.resume();
      await mute.closed;
      expect(mute.lines.length).toBeLessThan(200);
    } finally {
      await server.close();
    }
  });
});

afterAll(() => {
  // The RSS figure for the README, measured in this process (the runtime runs in it).
  process.stdout.write(`replies.test: rss ${Math.round(process.memoryUsage().rss / MB)} MB\n`);
});
