import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, until, waitForState } from '../helpers/runtime.js';
import { type HttpRuntime, startHttpRuntime } from './http-helpers.js';

let h: HttpRuntime;

beforeAll(async () => {
  h = await startHttpRuntime();
});

afterAll(async () => {
  await h?.runtime.stop();
  removeTempDirs();
});

describe('the dashboard routes', () => {
  it('GET /api/search finds a failed task by words of its error, and refuses what it cannot answer', async () => {
    const failed = await h.runtime.submit({ type: 'throws', maxTries: 1 });
    await waitForState(h.runtime, failed.id);
    const { status, body } = await h.json(`/api/search?text=${encodeURIComponent('ALWAYS fails')}&type=throws`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ cursor: null, partial: false });
    expect(body.tasks.map((t: { id: string }) => t.id)).toEqual([failed.id]);
    expect((await h.json(`/api/search?id=${failed.id.slice(0, 15)}`)).body.tasks.map((t: { id: string }) => t.id)).toEqual([failed.id]);
    expect((await h.json('/api/search?text=..')).body.error).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'text' });
    expect((await h.json('/api/search?from=yesterday')).body.error).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'from' });
    expect((await h.json('/api/search?type=nope')).body.error).toMatchObject({ code: 'UNKNOWN_TYPE' });
    expect((await h.json('/api/search?state=failed')).body.error).toMatchObject({ code: 'BAD_REQUEST', field: 'state' });
  });

  it('GET /api/series answers a point per minute; GET /api/overview a row per type', async () => {
    const task = await h.runtime.submit({ type: 'noop' });
    await waitForState(h.runtime, task.id);
    const series = await until(async () => {
      const { body } = await h.json('/api/series?type=noop&range=1h');
      return body.started.reduce((a: number, b: number) => a + b, 0) === 1 && body;
    });
    expect(series).toMatchObject({ type: 'noop', range: '1h' });
    expect(series.minutes).toHaveLength(60);
    expect((await h.json('/api/series?range=1w')).body.error).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'range' });
    const { status, body } = await h.json('/api/overview');
    expect(status).toBe(200);
    expect(body.find((r: { type: string }) => r.type === 'noop')).toMatchObject({ counts: { finished: 1 }, running: 0, paused: 0, oldestQueued: null });
  });
});
