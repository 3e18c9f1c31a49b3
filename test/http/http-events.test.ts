import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, until } from '../helpers/runtime.js';
import { type HttpRuntime, startHttpRuntime } from './http-helpers.js';

const CAP = 64 * 1024;
let h: HttpRuntime;

beforeAll(async () => {
  h = await startHttpRuntime({ maxPendingEventBytes: CAP });
});

afterAll(async () => {
  await h?.runtime.stop();
  removeTempDirs();
});

interface SseEvent {
  event: string;
  data: any;
}

/** Splits server-sent events out of a growing text; answers the events and the unfinished rest. */
function parseSse(text: string): { events: SseEvent[]; rest: string } {
  const blocks = text.split('\n\n');
  const rest = blocks.pop()!;
  const events = blocks.flatMap((block) => {
    const lines = block.split('\n');
    const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
    const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
    return event === undefined || data === undefined ? [] : [{ event, data: JSON.parse(data) as unknown }];
  });
  return { events, rest };
}

describe('GET /events', () => {
  it('streams the runtime\'s events as server-sent events, a transition included', async () => {
    const res = await h.call('/events?types=task.state&type=echo');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    const seen: SseEvent[] = [];
    const next = async (want: (e: SseEvent) => boolean): Promise<SseEvent> => {
      for (;;) {
        const found = seen.find(want);
        if (found !== undefined) return found;
        const { value, done } = await reader.read();
        if (done) throw new Error('the stream ended');
        const parsed = parseSse(buffer + value);
        buffer = parsed.rest;
        seen.push(...parsed.events);
      }
    };
    await next((e) => e.event === 'ready');
    const task = await h.runtime.submit({ type: 'echo', params: { n: 1 } });
    const finished = await next((e) => e.event === 'task.state' && e.data.id === task.id && e.data.to === 'finished');
    expect(finished.data).toMatchObject({ type: 'echo', from: 'running', to: 'finished' });
    expect(seen.every((e) => e.event === 'ready' || e.event === 'task.state')).toBe(true);
    await reader.cancel();
  });

  it('refuses an unknown event name with 400 INVALID_ARGUMENT', async () => {
    const { status, body } = await h.json('/events?types=task.nope');
    expect([status, body.error.code]).toEqual([400, 'INVALID_ARGUMENT']);
  });

  it('holds at most its cap of unsent bytes for a reader that stops reading, then tells it what it dropped', async () => {
    const socket: Socket = connect(Number(new URL(h.base).port), '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => { received += chunk; });
    socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${h.token}\r\n\r\n`);
    await until(() => received.includes('event: ready'));
    socket.pause();
    await until(() => h.runtime.http!.eventStreams.length === 1);

    // Measure the stream's unsent bytes after every event the runtime emits.
    let most = 0;
    const unsubscribe = h.runtime.subscribe({}, () => {
      for (const s of h.runtime.http!.eventStreams) most = Math.max(most, s.pendingBytes);
    });
    const big = 'x'.repeat(20_000);
    // Each echo's run.ended carries its 20 kB output: far more than the kernel's buffers take.
    for (let i = 0; i < 20 && h.runtime.http!.eventStreams[0]!.dropped === 0; i++) {
      const tasks = await h.runtime.submitMany(Array.from({ length: 50 }, (_, n) => ({ type: 'echo', params: { big, n } })));
      await until(async () => (await h.runtime.get(tasks[tasks.length - 1]!.id)).state === 'finished');
    }
    unsubscribe();
    const stream = h.runtime.http!.eventStreams[0]!;
    expect(stream.dropped).toBeGreaterThan(0);
    // Past the cap (that is when dropping starts), never more than the cap plus the one event that crossed it.
    expect(most).toBeGreaterThan(CAP);
    expect(most).toBeLessThanOrEqual(CAP + 25_000);

    socket.resume();
    await until(() => received.includes('event: dropped'));
    const start = received.indexOf('\r\n\r\n') + 4;
    const chunked = received.slice(start);
    const dropped = /event: dropped\ndata: (\{[^\n]*\})/.exec(chunked);
    expect(JSON.parse(dropped![1]!)).toMatchObject({ count: expect.any(Number) });
    expect(JSON.parse(dropped![1]!).count).toBeGreaterThan(0);
    socket.destroy();
  });
});
