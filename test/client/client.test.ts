import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, type ClientEvent, type Runtime, SpindleError } from '../../src/index.js';
import { errorResponse } from '../../src/ipc/protocol.js';
import { removeTempDirs, startRuntime, tempDir, until } from '../helpers/runtime.js';

const runtimes: Runtime[] = [];
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(runtimes.splice(0).map((r) => r.stop(1000)));
  removeTempDirs();
});

async function serve(data = tempDir()): Promise<Runtime> {
  const runtime = await startRuntime({ data, socket: true });
  runtimes.push(runtime);
  return runtime;
}

async function connect(options: Parameters<typeof Client.connect>[0]): Promise<Client> {
  const client = await Client.connect(options);
  clients.push(client);
  return client;
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

describe('Client (SPEC §7)', () => {
  it('drives every method over the socket, by data directory or by socket path', async () => {
    const runtime = await serve();
    const client = await connect({ data: runtime.options.data });
    const bySocket = await connect({ socket: runtime.options.socketPath! });

    const task = await client.submit({ type: 'echo', params: { n: 1 } });
    expect(task).toMatchObject({ type: 'echo', params: { n: 1 } });
    const done = await client.wait(task.id);
    expect(done).toMatchObject({ id: task.id, state: 'finished', lastRun: { output: { n: 1 } } });
    expect(await bySocket.get(task.id)).toEqual(done);
    expect((await client.runs(task.id)).map((r) => r.state)).toEqual(['finished']);
    expect((await client.history(task.id)).map((h) => h.to)).toEqual(['spooled', 'queued', 'running', 'finished']);

    const many = await client.submitMany([
      { type: 'echo', params: { n: 2 }, schedule: { in: '1h' } },
      { type: 'echo', params: { n: 3 }, schedule: { in: '2h' } },
    ]);
    expect(many.map((t) => t.params)).toEqual([{ n: 2 }, { n: 3 }]);
    expect((await client.pending()).map((t) => t.id)).toEqual(many.map((t) => t.id));
    expect((await client.list({ state: 'queued', limit: 1 })).tasks).toHaveLength(1);
    expect((await client.list({ type: 'echo' })).tasks.map((t) => t.id)).toEqual([many[1]!.id, many[0]!.id, task.id]);

    expect(await client.pause(many[0]!.id)).toMatchObject({ paused: true });
    expect(await client.resume(many[0]!.id)).toMatchObject({ paused: false });
    await client.runNow(many[0]!.id);
    expect(await client.wait(many[0]!.id)).toMatchObject({ state: 'finished' });
    expect(await client.cancel(many[1]!.id)).toMatchObject({ state: 'failed', reason: 'cancelled' });

    expect((await client.types()).map((t) => t.name)).toContain('echo');
    expect(await client.preview({ every: '1h', start: '2030-01-01T00:00:00Z' }, { count: 2, after: '2030-01-01T00:30:00Z' }))
      .toEqual({ times: ['2030-01-01T01:00:00.000Z', '2030-01-01T02:00:00.000Z'] });
    const stats = await client.stats();
    expect(stats.states).toMatchObject({ finished: 2, failed: 1 });
    expect(stats.workers).toMatchObject({ mode: 'threads', size: 2 });
  });

  it('submitAndWait and wait answer with a task kept for no time (retention 0) as it ended: its end event carries it', async () => {
    const runtime = await startRuntime({ data: tempDir(), socket: true, retention: 0 });
    runtimes.push(runtime);
    const client = await connect({ data: runtime.options.data });
    const done = await client.submitAndWait({ type: 'echo', params: { n: 1 } });
    expect(done).toMatchObject({ type: 'echo', state: 'finished', lastRun: { output: { n: 1 } } });
    const ends: ClientEvent[] = [];
    const stream = client.events({ types: ['task.state'] });
    const reading = (async () => {
      for await (const ev of stream) {
        ends.push(ev);
        if (ev.event === 'task.state' && ev.data.to === 'finished') break;
      }
    })();
    await stream.ready;
    const t = await client.submit({ type: 'echo', params: { n: 2 }, schedule: { in: '200ms' } });
    expect(await client.wait(t.id)).toMatchObject({ id: t.id, state: 'finished', lastRun: { output: { n: 2 } } });
    await reading;
    const end = ends.at(-1)!;
    expect(end.event === 'task.state' && end.data.task).toMatchObject({ id: t.id, state: 'finished', lastRun: { output: { n: 2 } } });
    // Only a terminal event carries the task.
    expect(ends.slice(0, -1).every((ev) => ev.event === 'task.state' && ev.data.task === undefined)).toBe(true);
  });

  it('reads answers many times its read buffer, with characters cut between reads', async () => {
    const runtime = await serve();
    const client = await connect({ data: runtime.options.data });
    // About 2 MB of answer, most of its bytes in 2- to 4-byte characters: reads end inside them.
    const tasks = Array.from({ length: 1_000 }, (_, i) => ({ type: 'echo', params: { i, s: 'é€😀'.repeat(100 + (i % 7)) }, schedule: { in: '1h' } }));
    const many = await client.submitMany(tasks);
    expect(many.map((t) => t.params)).toEqual(tasks.map((t) => t.params));
    expect((await client.stats()).states.queued).toBe(1_000);
  });

  it('has enqueue and dequeue as aliases of submit and cancel', async () => {
    const runtime = await serve();
    const client = await connect({ data: runtime.options.data });
    const task = await client.enqueue({ type: 'echo', schedule: { in: '1h' } });
    expect(task.state).toBe('queued');
    expect(await client.dequeue(task.id)).toMatchObject({ id: task.id, state: 'failed', reason: 'cancelled' });
  });

  it('rejects with the runtime\'s error code, message and details', async () => {
    const runtime = await serve();
    const client = await connect({ data: runtime.options.data });
    const err = await client.submit({ type: 'echo', timeout: -1 }).catch((e: unknown) => e as SpindleError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', details: { field: 'timeout' } });
    expect(await codeOf(client.submit({ type: 'nope' }))).toBe('UNKNOWN_TYPE');
    expect(await codeOf(client.get('missing'))).toBe('NOT_FOUND');
    expect(await codeOf(client.submit({ type: 'echo', schedule: { cron: '61 * * * *' } }))).toBe('INVALID_SCHEDULE');
    expect(await codeOf(client.submitMany([{ type: 'echo' }, { type: 'nope' }]))).toBe('UNKNOWN_TYPE');
    expect(runtime.stats().states.queued ?? 0).toBe(0);
  });

  it('fails at once with RUNTIME_UNREACHABLE and the socket path when nothing listens', async () => {
    const data = tempDir();
    const err = await Client.connect({ data }).then(() => null, (e: unknown) => e as SpindleError);
    expect(err).toMatchObject({ code: 'RUNTIME_UNREACHABLE' });
    expect(err?.message).toBe(`cannot reach the runtime at ${data}/spindle.sock — is \`spindle start\` running?`);
  });

  it('streams events filtered by task, type and event, and unsubscribes when the loop ends', async () => {
    const runtime = await serve();
    const client = await connect({ data: runtime.options.data });
    const other = await client.submit({ type: 'echo', schedule: { in: '1h' } });
    const task = await client.submit({ type: 'progress', schedule: { in: '1h' } });
    const seen: ClientEvent[] = [];
    const byTask = client.events({ taskId: task.id, types: ['run.progress', 'run.ended'] });
    const byType = client.events({ type: 'echo', types: ['task.state'] });
    // The subscriptions are in place once a call sent after them is answered.
    await client.stats();
    await client.runNow(task.id);
    for await (const ev of byTask) {
      seen.push(ev);
      if (ev.event === 'run.ended') break;
    }
    expect(seen.map((e) => e.event)).toEqual(['run.progress', 'run.ended']);
    expect(seen[1]).toMatchObject({ data: { id: task.id, state: 'finished', output: { done: true } } });
    await client.cancel(other.id);
    const first = await byType.next();
    expect(first.value).toMatchObject({ event: 'task.state', data: { id: other.id, to: 'failed', reason: 'cancelled' } });
    await byType.return!();
    expect(await byType.next()).toEqual({ value: undefined, done: true });
  });

  it('keeps at most maxBufferedEvents for a consumer that does not read, and says how many it dropped', async () => {
    const runtime = await serve();
    const client = await connect({ data: runtime.options.data, maxBufferedEvents: 5 });
    const stream = client.events({ type: 'echo', types: ['task.state'] });
    await client.stats();
    const tasks = await client.submitMany(Array.from({ length: 10 }, (_, n) => ({ type: 'echo', params: { n } })));
    // Each task makes 4 task.state events; all have reached the client once every wait has resolved.
    await Promise.all(tasks.map((t) => client.wait(t.id)));
    const got: ClientEvent[] = [];
    for (let i = 0; i < 6; i++) got.push((await stream.next()).value as ClientEvent);
    expect(got.slice(0, 5).every((e) => e.event === 'task.state')).toBe(true);
    expect(got[5]).toMatchObject({ event: 'events.dropped', data: { count: 35 } });
    await stream.return!();
  });

  it('reconnects across a runtime restart: wait() survives it and calls made meanwhile are sent once it is back', async () => {
    const data = tempDir();
    let runtime = await serve(data);
    const client = await connect({ data, reconnectWindowMs: 60_000 });
    const task = await client.submit({ type: 'echo', params: { n: 7 }, schedule: { in: '1h' } });
    const waiting = client.wait(task.id);
    await client.stats();
    await runtime.stop(1000);
    runtimes.splice(runtimes.indexOf(runtime), 1);
    await until(() => !client.connected);

    const runNow = client.runNow(task.id);
    runtime = await serve(data);
    expect(await runNow).toMatchObject({ id: task.id });
    expect(await waiting).toMatchObject({ id: task.id, state: 'finished', lastRun: { output: { n: 7 } } });
  });

  it('wait() rides over a runtime that refuses its reads and its resubscription with SHUTTING_DOWN on the way down', async () => {
    const data = tempDir();
    const first = await serve(data);
    const client = await connect({ data, reconnectWindowMs: 60_000 });
    const task = await client.submit({ type: 'echo', params: { n: 8 }, schedule: { in: '1h' } });
    const waiting = client.wait(task.id);
    await client.stats();
    await first.stop(1000);
    runtimes.splice(runtimes.indexOf(first), 1);

    // What a client meets at a stopping runtime's socket: every call answered SHUTTING_DOWN.
    const refused: string[] = [];
    const peers = new Set<Socket>();
    const stopping = createServer((socket) => {
      peers.add(socket);
      let text = '';
      socket.on('data', (chunk) => {
        text += String(chunk);
        for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
          const { id, method } = JSON.parse(text.slice(0, nl)) as { id: number; method: string };
          text = text.slice(nl + 1);
          refused.push(method);
          socket.write(`${JSON.stringify(errorResponse(id, new SpindleError('SHUTTING_DOWN', 'the runtime is shutting down')))}\n`);
        }
      });
    });
    await new Promise<void>((resolve) => stopping.listen(first.options.socketPath!, resolve));
    await until(() => refused.includes('events.subscribe') && refused.includes('task.get'));
    await new Promise<void>((resolve) => {
      stopping.close(() => resolve());
      for (const peer of peers) peer.destroy();
    });

    await serve(data);
    expect(await client.runNow(task.id)).toMatchObject({ id: task.id });
    expect(await waiting).toMatchObject({ id: task.id, state: 'finished', lastRun: { output: { n: 8 } } });
  });

  it('tells an events consumer about the gap a restart left', async () => {
    const data = tempDir();
    let runtime = await serve(data);
    const client = await connect({ data, reconnectWindowMs: 60_000 });
    const stream = client.events({ types: ['task.state'] });
    await client.stats();
    await runtime.stop(1000);
    runtimes.splice(runtimes.indexOf(runtime), 1);
    runtime = await serve(data);
    expect((await stream.next()).value).toMatchObject({ event: 'events.gap', data: { reason: 'reconnected' } });
    const task = await client.submit({ type: 'echo', schedule: { in: '1h' } });
    expect((await stream.next()).value).toMatchObject({ event: 'task.state', data: { id: task.id, to: 'spooled' } });
    await stream.return!();
  });

  it('rejects waiting calls, wait() and event streams with RUNTIME_UNREACHABLE once the runtime stays gone', async () => {
    const runtime = await serve();
    const client = await connect({ data: runtime.options.data, reconnectWindowMs: 200 });
    const task = await client.submit({ type: 'echo', schedule: { in: '1h' } });
    const waiting = codeOf(client.wait(task.id));
    const stream = client.events({});
    await client.stats();
    await runtime.stop(1000);
    runtimes.length = 0;
    expect(await codeOf(client.get(task.id))).toBe('RUNTIME_UNREACHABLE');
    expect(await waiting).toBe('RUNTIME_UNREACHABLE');
    expect(await codeOf(stream.next())).toBe('RUNTIME_UNREACHABLE');
  });

  it('rejects calls pending at close, and calls after it, with CLIENT_CLOSED', async () => {
    const runtime = await serve();
    const client = await Client.connect({ data: runtime.options.data });
    const task = await client.submit({ type: 'echo', schedule: { in: '1h' } });
    const waiting = codeOf(client.wait(task.id));
    await client.stats();
    await client.close();
    expect(await waiting).toBe('CLIENT_CLOSED');
    expect(await codeOf(client.get(task.id))).toBe('CLIENT_CLOSED');
    await client.close();
  });

  it('answers SHUTTING_DOWN to a submit while the runtime stops', async () => {
    const runtime = await serve();
    const client = await connect({ data: runtime.options.data, reconnectWindowMs: 0 });
    const slow = await client.submit({ type: 'sleep', params: { ms: 60_000 } });
    await client.get(slow.id);
    expect(await client.call('runtime.stop', { grace: '5s' })).toEqual({ ok: true });
    expect(await codeOf(client.submit({ type: 'echo' }))).toBe('SHUTTING_DOWN');
    await runtime.stop();
    runtimes.length = 0;
    expect(await codeOf(client.get(slow.id))).toBe('RUNTIME_UNREACHABLE');
  });

  it('stop({ wait: true }) resolves once the runtime has stopped and its socket is gone', async () => {
    const runtime = await serve();
    const client = await connect({ data: runtime.options.data, reconnectWindowMs: 0 });
    expect(await client.stop({ wait: true })).toEqual({ ok: true });
    expect(runtime.status).toBe('stopped');
    runtimes.length = 0;
    await expect(Client.connect({ data: runtime.options.data })).rejects.toMatchObject({ code: 'RUNTIME_UNREACHABLE' });
  });

  it('rejects with TOO_MANY_CONNECTIONS when the runtime refuses the connection, and BAD_RESPONSE when the peer is not Spindle', async () => {
    const runtime = await startRuntime({ data: tempDir(), socket: true, maxConnections: 1 });
    runtimes.push(runtime);
    const first = await connect({ data: runtime.options.data, reconnectWindowMs: 0 });
    await first.stats();
    const second = await connect({ data: runtime.options.data, reconnectWindowMs: 0 });
    expect(await codeOf(second.stats())).toBe('TOO_MANY_CONNECTIONS');

    const path = join(tempDir(), 'other.sock');
    // resume(): a socket that never reads never sees the client hang up, and close() would wait for it.
    const other = createServer((socket) => socket.resume().end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await new Promise<void>((resolve) => other.listen(path, resolve));
    try {
      const confused = await connect({ socket: path, reconnectWindowMs: 0 });
      const err = await confused.stats().then(() => null, (e: unknown) => e as SpindleError);
      expect(err).toMatchObject({ code: 'BAD_RESPONSE' });
      expect(err?.message).toContain(`is ${path} a Spindle runtime's socket?`);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });
});
