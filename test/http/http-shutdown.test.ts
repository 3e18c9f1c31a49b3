import { afterAll, describe, expect, it } from 'vitest';
import { nextEvent, removeTempDirs } from '../helpers/runtime.js';
import { startHttpRuntime } from './http-helpers.js';

afterAll(() => removeTempDirs());

describe('the HTTP server during a stop', () => {
  it('answers SHUTTING_DOWN (503) while runs wind down, then closes with the runtime, event streams included', async () => {
    const h = await startHttpRuntime();
    const events = await h.call('/events');
    const reader = events.body!.getReader();
    await reader.read();
    const started = nextEvent(h.runtime, (ev) => (ev.event === 'run.started' ? ev : undefined));
    // ignore-abort keeps running past its abort signal, so the stop waits out its grace.
    await h.runtime.submit({ type: 'ignore-abort', params: { ms: 60_000 } });
    await started;
    const stopped = h.runtime.stop(1500);
    const submit = await h.json('/api/tasks', { body: { type: 'echo' } });
    expect([submit.status, submit.body.error.code]).toEqual([503, 'SHUTTING_DOWN']);
    const health = await fetch(`${h.base}/healthz`);
    expect([health.status, await health.json()]).toEqual([503, { status: 'stopping' }]);
    await stopped;
    // The event stream is ended (cleanly or cut), not left hanging.
    for (;;) {
      const next = await reader.read().catch(() => ({ done: true }));
      if (next.done) break;
    }
    await expect(fetch(`${h.base}/healthz`)).rejects.toThrow();
  });
});
