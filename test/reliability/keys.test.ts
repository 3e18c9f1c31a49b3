import { connect } from 'node:net';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '../../src/index.js';
import type { Runtime, RuntimeOptions } from '../../src/index.js';
import { type Clock, systemClock } from '../../src/clock.js';
import { spindle, spindleJson, startRuntime as startCli } from '../helpers/cli.js';
import { FIXTURE_TASKS, removeTempDirs, startRuntime, tempDir, waitForState } from '../helpers/runtime.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

let runtime: Runtime | undefined;
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await runtime?.stop(2000);
  runtime = undefined;
  removeTempDirs();
});

/** The system clock with a wall time the test moves: a day passes without waiting for it. */
function movableClock(): Clock & { offset: number } {
  const clock = { ...systemClock, offset: 0, now: () => Date.now() + clock.offset };
  return clock;
}

async function serve(options: RuntimeOptions = {}): Promise<Runtime> {
  runtime = await startRuntime({ socket: true, ...options });
  return runtime;
}

async function client(r: Runtime): Promise<Client> {
  const c = await Client.connect({ socket: r.options.socketPath! });
  clients.push(c);
  return c;
}

/** Every key the store holds under a prefix (the runtime must be stopped: LevelDB has one owner). */
async function storeKeys(data: string, prefix: string): Promise<string[]> {
  const db = new Level<string, string>(join(data, 'store'));
  await db.open();
  try {
    return await db.keys({ gte: prefix, lt: `${prefix}\xff` }).all();
  } finally {
    await db.close();
  }
}

/** Counts `run.started` events per task id for as long as the runtime lives. */
function countStarts(r: Runtime): Map<string, number> {
  const starts = new Map<string, number>();
  r.subscribe({ types: ['run.started'] }, (ev) => {
    if (ev.event === 'run.started') starts.set(ev.data.id, (starts.get(ev.data.id) ?? 0) + 1);
  });
  return starts;
}

describe('B5: idempotency keys over real sockets', () => {
  it('20 clients submitting one key at once get one task, which runs once', async () => {
    const r = await serve();
    const starts = countStarts(r);
    const cs = await Promise.all(Array.from({ length: 20 }, () => client(r)));
    const views = await Promise.all(cs.map((c) => c.submit({ type: 'echo', params: { order: 42 }, key: 'order-42' })));
    expect(new Set(views.map((v) => v.id)).size).toBe(1);
    const done = await waitForState(r, views[0]!.id);
    expect(done).toMatchObject({ state: 'finished', runCount: 1, key: 'order-42' });
    expect((await r.list({ type: 'echo' })).tasks).toHaveLength(1);
    expect([...starts.values()]).toEqual([1]);
  });

  it('the same key with other params (or another type) answers KEY_CONFLICT while live and after the end', async () => {
    const r = await serve();
    const c = await client(r);
    const live = await c.submit({ type: 'echo', params: { n: 1 }, key: 'k', schedule: { in: '1h' } });
    await expect(c.submit({ type: 'echo', params: { n: 2 }, key: 'k' })).rejects.toMatchObject({ code: 'KEY_CONFLICT' });
    await expect(c.submit({ type: 'noop', params: { n: 1 }, key: 'k' })).rejects.toMatchObject({ code: 'KEY_CONFLICT' });
    await c.cancel(live.id);
    await expect(c.submit({ type: 'echo', params: { n: 2 }, key: 'k' })).rejects.toMatchObject({ code: 'KEY_CONFLICT', details: { taskId: live.id } });
    expect((await r.list({})).tasks).toHaveLength(1);
  });

  it('the same key after the task finished returns the finished task during the window, without running it again, and a new task after it', async () => {
    const clock = movableClock();
    const r = await serve({ clock, keyRetention: '24h' });
    const starts = countStarts(r);
    const c = await client(r);
    const first = await c.submit({ type: 'echo', params: { n: 1 }, key: 'pay-1' });
    const done = await waitForState(r, first.id);
    expect(done).toMatchObject({ state: 'finished', runCount: 1 });
    const endedAt = Date.parse(done.endedAt!);
    expect(done.keyExpiresAt).toBe(new Date(endedAt + DAY).toISOString());

    // A retry just after the end, and one a minute before the window closes: the same task.
    for (const offset of [0, endedAt + DAY - MINUTE - Date.now()]) {
      clock.offset = offset;
      const again = await c.submit({ type: 'echo', params: { n: 1 }, key: 'pay-1' });
      expect(again).toMatchObject({ id: first.id, state: 'finished', runCount: 1 });
      await expect(c.submit({ type: 'echo', params: { n: 2 }, key: 'pay-1' })).rejects.toMatchObject({ code: 'KEY_CONFLICT' });
    }
    expect(starts.get(first.id)).toBe(1);

    // After the window the key is free: a new task, which runs.
    clock.offset = endedAt + DAY + MINUTE - Date.now();
    const second = await c.submit({ type: 'echo', params: { n: 2 }, key: 'pay-1' });
    expect(second.id).not.toBe(first.id);
    expect(await waitForState(r, second.id)).toMatchObject({ state: 'finished', runCount: 1 });
    // The old task no longer holds it; the new one does, for its own window.
    expect((await r.get(first.id)).keyExpiresAt).toBeUndefined();
    expect((await c.submit({ type: 'echo', params: { n: 2 }, key: 'pay-1' })).id).toBe(second.id);
    expect(starts.get(first.id)).toBe(1);
    expect(starts.get(second.id)).toBe(1);
  });

  it('a held key survives a restart, and the sweep frees it by its index once the window is over', async () => {
    const data = tempDir();
    const clock = movableClock();
    let r = await serve({ data, clock, keyRetention: '1h' });
    const first = await r.submit({ type: 'echo', params: { n: 1 }, key: 'restart' });
    const endedAt = Date.parse((await waitForState(r, first.id)).endedAt!);
    await r.stop(2000);
    expect(await storeKeys(data, 'k!')).toEqual(['k!restart']);
    expect(await storeKeys(data, 'kx!')).toHaveLength(1);

    r = await serve({ data, clock, keyRetention: '1h' });
    expect((await r.submit({ type: 'echo', params: { n: 1 }, key: 'restart' })).id).toBe(first.id);
    await expect(r.submit({ type: 'echo', params: { n: 2 }, key: 'restart' })).rejects.toMatchObject({ code: 'KEY_CONFLICT' });
    await r.stop(2000);

    // Restarted past the window: the start-up sweep releases the hold from the kx! index.
    clock.offset = endedAt + HOUR + MINUTE - Date.now();
    r = await serve({ data, clock, keyRetention: '1h' });
    await expect.poll(async () => (await r.get(first.id)).keyExpiresAt, { timeout: 20_000 }).toBeUndefined();
    await r.stop(2000);
    runtime = undefined;
    expect(await storeKeys(data, 'k!')).toEqual([]);
    expect(await storeKeys(data, 'kx!')).toEqual([]);
  });

  it('a submit may set its own keyRetention: 0 frees the key when the task ends', async () => {
    const clock = movableClock();
    const r = await serve({ clock, keyRetention: '24h' });
    const a = await r.submit({ type: 'echo', params: { n: 1 }, key: 'short', keyRetention: 0 });
    await waitForState(r, a.id);
    const b = await r.submit({ type: 'echo', params: { n: 1 }, key: 'short', keyRetention: '1h' });
    expect(b.id).not.toBe(a.id);
    const bEnded = Date.parse((await waitForState(r, b.id)).endedAt!);
    clock.offset = bEnded + HOUR - MINUTE - Date.now();
    expect((await r.submit({ type: 'echo', params: { n: 1 }, key: 'short' })).id).toBe(b.id);
    clock.offset = bEnded + HOUR + MINUTE - Date.now();
    expect((await r.submit({ type: 'echo', params: { n: 1 }, key: 'short' })).id).not.toBe(b.id);
  });

  it('a key is held no longer than its task is kept: the hold ends with the retention, and both are swept without a trace', async () => {
    const data = tempDir();
    const clock = movableClock();
    const options = { data, clock, retention: '1h', keyRetention: '24h' };
    let r = await serve(options);
    const first = await r.submit({ type: 'echo', params: { n: 1 }, key: 'kept' });
    const done = await waitForState(r, first.id);
    const endedAt = Date.parse(done.endedAt!);
    expect(done.keyExpiresAt).toBe(new Date(endedAt + HOUR).toISOString());
    await r.stop(2000);

    // Past the task's retention: the first start's sweep frees the key (the task is not deleted
    // while it holds one), the next start's sweep deletes the task.
    clock.offset = endedAt + HOUR + MINUTE - Date.now();
    r = await serve(options);
    await expect.poll(async () => (await r.get(first.id)).keyExpiresAt, { timeout: 20_000 }).toBeUndefined();
    await r.stop(2000);
    r = await serve(options);
    await expect.poll(() => r.stats().swept, { timeout: 20_000 }).toBe(1);
    await r.stop(2000);
    runtime = undefined;
    expect(await storeKeys(data, 'k!')).toEqual([]);
    expect(await storeKeys(data, 'kx!')).toEqual([]);
    expect(await storeKeys(data, 'x!')).toEqual([]);
    expect(await storeKeys(data, `t!${first.id}`)).toEqual([]);

    r = await serve(options);
    expect((await r.submit({ type: 'echo', params: { n: 1 }, key: 'kept' })).id).not.toBe(first.id);
  });
});

describe('B5: the key retention from the CLI', () => {
  it('`spindle start --key-retention` sets the window, `submit --key-retention` overrides it, and a bad value exits with INVALID_OPTION', async () => {
    const bad = await spindle(['start', '--data', tempDir(), '--tasks', FIXTURE_TASKS, '--key-retention', 'soon']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^spindle: INVALID_OPTION: keyRetention/m);

    const data = tempDir();
    const cli = await startCli(data, FIXTURE_TASKS, ['--key-retention', '0']);
    try {
      const submit = (extra: string[]) => spindleJson<{ id: string; keyExpiresAt?: string }>(['submit', 'echo', '--params', '{"n":1}', '--key', 'cli', '--wait', '--data', data, ...extra]);
      const a = await submit([]);
      expect(a.keyExpiresAt).toBeUndefined();
      const b = await submit(['--key-retention', '1h']);
      expect(b.id).not.toBe(a.id);
      expect(Date.parse(b.keyExpiresAt!)).toBeGreaterThan(Date.now() + 59 * MINUTE);
      expect((await submit([])).id).toBe(b.id);
    } finally {
      cli.child.kill('SIGTERM');
      await cli.exited;
    }
  });
});

describe('B5 / I4: keys, type names and ids must be well-formed Unicode', () => {
  /** One raw JSON-RPC line (escapes as a client in any language would send them), one answer. */
  function rawCall(path: string, line: string): Promise<{ result?: unknown; error?: { data?: { code?: string; field?: string } } }> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      let buf = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        buf += chunk;
        const nl = buf.indexOf('\n');
        if (nl >= 0) {
          socket.destroy();
          resolve(JSON.parse(buf.slice(0, nl)) as never);
        }
      });
      socket.on('error', reject);
      socket.write(`${line}\n`);
    });
  }

  it('refuses keys "\\ud800" and "\\ud801" with INVALID_ARGUMENT naming the key, and stores nothing (UTF-8 would make them one key)', async () => {
    const r = await serve();
    const path = r.options.socketPath!;
    for (const [i, key] of ['\\ud800', '\\ud801', 'a\\udc00b'].entries()) {
      const answer = await rawCall(path, `{"jsonrpc":"2.0","id":${i},"method":"task.submit","params":{"type":"echo","params":{"n":1},"key":"${key}","schedule":{"in":"1h"}}}`);
      expect(answer.error?.data).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'key' });
    }
    const typed = await rawCall(path, '{"jsonrpc":"2.0","id":9,"method":"task.submit","params":{"type":"echo\\ud800"}}');
    expect(typed.error?.data).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'type' });
    expect((await r.list({})).tasks).toEqual([]);
    expect(Object.values(r.stats().states).every((n) => n === 0)).toBe(true);
  });

  it('refuses an ill-formed id or type in reads and control calls with INVALID_ARGUMENT', async () => {
    const r = await serve();
    const c = await client(r);
    for (const call of [c.get('\ud800'), c.cancel('ab\udfff'), c.runs('\ud800'), c.list({ type: '\ud800' })]) {
      await expect(call).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(c.get('\ud800')).rejects.toMatchObject({ details: { field: 'id' } });
  });
});
