import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '../../src/client/client.js';
import { type Background, startRuntime } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from '../helpers/runtime.js';
import { RawConnection } from '../reliability/ipc-harness.js';

const TASKS = fileURLToPath(new URL('../fixtures/reply-tasks', import.meta.url));
const MB = 1024 * 1024;
const running: Background[] = [];

afterEach(async () => {
  for (const r of running.splice(0)) {
    r.child.kill('SIGKILL');
    await r.exited;
  }
  removeTempDirs();
});

/** `spindle start` as its own process: its RSS is the runtime's alone. */
async function start(): Promise<{ socket: string; rss: () => number; pid: number; process: Background }> {
  const data = tempDir();
  const rt = await startRuntime(data, TASKS);
  running.push(rt);
  const pid = rt.child.pid!;
  const rss = (): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
  return { socket: join(data, 'spindle.sock'), rss, pid, process: rt };
}

describe('I2 (long): 10,000 keyed submits whose connection closes before the reply', () => {
  it('stores one task per key, resubmitting returns it, and the runtime lives through the EPIPEs', async () => {
    const rt = await start();
    const keys = Array.from({ length: 10_000 }, (_, i) => `key-${i}`);
    const line = (key: string): string => `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'task.submit', params: { type: 'blob', key, params: { key }, schedule: { in: '1h' } } })}\n`;
    for (let i = 0; i < keys.length; i += 200) {
      await Promise.all(keys.slice(i, i + 200).map(async (key) => {
        const c = await RawConnection.open(rt.socket);
        c.write(line(key));
        c.socket.destroy();
        await c.closed;
      }));
    }
    const client = await Client.connect({ socket: rt.socket, reconnectWindowMs: 0 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < keys.length; i += 500) {
        ids.push(...(await Promise.all(keys.slice(i, i + 500).map(async (key) => (await client.submit({ type: 'blob', key, params: { key }, schedule: { in: '1h' } })).id))));
      }
      expect(new Set(ids).size).toBe(keys.length);
      const stats = await client.stats();
      expect(stats.types.blob?.queued).toBe(keys.length);
      process.stdout.write(`I2 long: 10,000 keys, ${keys.length} tasks, runtime RSS ${Math.round(rt.rss() / MB)} MB\n`);
    } finally {
      await client.close();
    }
  });
});

describe('L2 (long): 50 clients × 2,000 submits, a full queue and a client that stops reading', () => {
  it('stores every acknowledged task once, matches every reply to its request, answers QUEUE_FULL past maxQueued, and cuts the non-reader off', async () => {
    const rt = await start();
    const rssBefore = rt.rss();
    const mute = await RawConnection.open(rt.socket);
    mute.socket.pause();
    const pad = 'p'.repeat(8 * 1024);
    mute.write(Array.from({ length: 2000 }, (_, i) => `${JSON.stringify({ jsonrpc: '2.0', id: i, method: 'task.submit', params: { type: 'blob', params: { pad }, schedule: { in: '1h' } } })}\n`).join(''));
    const clients = await Promise.all(Array.from({ length: 50 }, () => RawConnection.open(rt.socket)));
    const acked: string[] = [];
    let full = 0;
    let peak = rssBefore;
    const sample = setInterval(() => { peak = Math.max(peak, rt.rss()); }, 50);
    try {
      await Promise.all(clients.map(async (c, ci) => {
        for (let batch = 0; batch < 2000; batch += 500) {
          c.write(Array.from({ length: 500 }, (_, k) => `${JSON.stringify({ jsonrpc: '2.0', id: `${ci}:${batch + k}`, method: 'task.submit', params: { type: 'bounded', params: { n: ci * 10_000 + batch + k }, schedule: { in: '1h' } } })}\n`).join(''));
          for (let k = 0; k < 500; k++) {
            const i = batch + k;
            const reply = await c.next((m) => m.id === `${ci}:${i}`);
            if (reply.error !== undefined) {
              expect(reply.error.data.code).toBe('QUEUE_FULL');
              full++;
            } else {
              expect(reply.result.params).toEqual({ n: ci * 10_000 + i });
              acked.push(reply.result.id);
            }
          }
        }
      }));
    } finally {
      clearInterval(sample);
    }
    expect(acked).toHaveLength(50_000);
    expect(full).toBe(50_000);
    expect(new Set(acked).size).toBe(50_000);
    const client = await Client.connect({ socket: rt.socket, reconnectWindowMs: 0 });
    try {
      expect((await client.stats()).types.bounded?.queued).toBe(50_000);
      const seen = new Set<string>();
      let cursor: string | null | undefined;
      do {
        const page = await client.list({ type: 'bounded', limit: 1000, ...(cursor ? { cursor } : {}) });
        for (const t of page.tasks) seen.add(t.id);
        cursor = page.cursor;
      } while (cursor !== null);
      expect(seen).toEqual(new Set(acked));
    } finally {
      await client.close();
    }
    // The runtime lets it go once it has taken nothing of its full buffer for the write timeout (10 s).
    await rt.process.printed('it stopped reading its replies');
    mute.socket.resume();
    await mute.closed;
    expect(mute.messages.length).toBeLessThan(2000);
    process.stdout.write(`L2 long: 100,000 submits from 50 clients, 50,000 acknowledged and stored once, 50,000 QUEUE_FULL; non-reader cut off after ${mute.messages.length} of 2,000 replies; runtime RSS ${Math.round(rssBefore / MB)} → peak ${Math.round(peak / MB)} MB\n`);
  });
});
