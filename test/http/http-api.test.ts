import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, until, waitForState } from '../helpers/runtime.js';
import { type HttpRuntime, startHttpRuntime } from './http-helpers.js';

let h: HttpRuntime;

beforeAll(async () => {
  h = await startHttpRuntime({}, { maxFrameBytes: 64 * 1024 });
});

afterAll(async () => {
  await h?.runtime.stop();
  removeTempDirs();
});

describe('POST /api/tasks', () => {
  it('submits one task and answers it, as task.submit does', async () => {
    const { status, body } = await h.json('/api/tasks', { body: { type: 'echo', params: { n: 1 } } });
    expect(status).toBe(200);
    expect(body).toMatchObject({ type: 'echo', params: { n: 1 } });
    const done = await waitForState(h.runtime, body.id);
    expect(done.state).toBe('finished');
  });

  it('submits an array in one atomic write, answering the tasks in order', async () => {
    const { status, body } = await h.json('/api/tasks', { body: [{ type: 'echo', params: { n: 1 } }, { type: 'echo', params: { n: 2 } }] });
    expect(status).toBe(200);
    expect(body.map((t: { params: unknown }) => t.params)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('refuses an array with a bad entry whole, naming it (400 UNKNOWN_TYPE, details.index)', async () => {
    // Tasks of earlier tests may still be moving between states: their total does not change.
    const total = (): number => Object.values(h.runtime.stats().states).reduce((a, b) => a + b, 0);
    const before = total();
    const { status, body } = await h.json('/api/tasks', { body: [{ type: 'echo' }, { type: 'no-such-type' }] });
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 'UNKNOWN_TYPE', index: 1, field: 'tasks[1].type' });
    expect(total()).toBe(before);
  });

  it('maps the protocol\'s codes to statuses: INVALID_ARGUMENT 400, BAD_REQUEST 400, KEY_CONFLICT 409', async () => {
    const bad = await h.json('/api/tasks', { body: { type: 'echo', maxTries: 'x' } });
    expect([bad.status, bad.body.error.code, bad.body.error.field]).toEqual([400, 'INVALID_ARGUMENT', 'maxTries']);
    const unknown = await h.json('/api/tasks', { body: { type: 'echo', bogus: 1 } });
    expect([unknown.status, unknown.body.error.code]).toEqual([400, 'BAD_REQUEST']);
    await h.json('/api/tasks', { body: { type: 'sleep', params: { ms: 60_000 }, key: 'k1' } });
    const conflict = await h.json('/api/tasks', { body: { type: 'sleep', params: { ms: 1 }, key: 'k1' } });
    expect([conflict.status, conflict.body.error.code]).toEqual([409, 'KEY_CONFLICT']);
    const notJson = await h.json('/api/tasks', { body: '{oops' });
    expect([notJson.status, notJson.body.error.code]).toEqual([400, 'BAD_REQUEST']);
  });

  it('refuses a body over the frame cap with 413 BODY_TOO_LARGE', async () => {
    const { status, body } = await h.json('/api/tasks', { body: { type: 'echo', params: { s: 'x'.repeat(70 * 1024) } } });
    expect(status).toBe(413);
    expect(body.error).toMatchObject({ code: 'BODY_TOO_LARGE', limit: 64 * 1024 });
  });
});

describe('reading tasks', () => {
  it('gets one task, its runs and its history; an unknown id is 404 NOT_FOUND', async () => {
    const { body: task } = await h.json('/api/tasks', { body: { type: 'echo', params: { n: 3 } } });
    await waitForState(h.runtime, task.id);
    const got = await h.json(`/api/tasks/${task.id}`);
    expect(got.body).toMatchObject({ id: task.id, state: 'finished' });
    const runs = await h.json(`/api/tasks/${task.id}/runs`);
    expect(runs.body).toHaveLength(1);
    expect(runs.body[0]).toMatchObject({ run: 1, state: 'finished', output: { n: 3 } });
    const history = await h.json(`/api/tasks/${task.id}/history`);
    expect(history.body.map((e: { to: string }) => e.to)).toEqual(['spooled', 'queued', 'running', 'finished']);
    const missing = await h.json('/api/tasks/nosuchtask0000');
    expect([missing.status, missing.body.error.code]).toEqual([404, 'NOT_FOUND']);
  });

  it('lists with state and type filters and a cursor', async () => {
    await h.json('/api/tasks', { body: [1, 2, 3].map((n) => ({ type: 'sleep', params: { ms: 60_000, n }, schedule: { in: '1h' } })) });
    const page1 = await h.json('/api/tasks?state=queued&type=sleep&limit=2');
    expect(page1.status).toBe(200);
    expect(page1.body.tasks).toHaveLength(2);
    expect(page1.body.tasks.every((t: { state: string; type: string }) => t.state === 'queued' && t.type === 'sleep')).toBe(true);
    const page2 = await h.json(`/api/tasks?state=queued&type=sleep&limit=2&cursor=${page1.body.cursor}`);
    expect(page2.body.tasks.length).toBeGreaterThanOrEqual(1);
    const bad = await h.json('/api/tasks?status=queued');
    expect([bad.status, bad.body.error.code, bad.body.error.field]).toEqual([400, 'BAD_REQUEST', 'status']);
    const badState = await h.json('/api/tasks?state=nope');
    expect([badState.status, badState.body.error.code]).toEqual([400, 'INVALID_ARGUMENT']);
  });

  it('answers stats, types, pending and a schedule preview', async () => {
    expect((await h.json('/api/stats')).body.states).toBeDefined();
    expect((await h.json('/api/types')).body.map((t: { name: string }) => t.name)).toContain('echo');
    expect((await h.json('/api/pending?type=sleep&limit=5')).status).toBe(200);
    const preview = await h.json('/api/preview', { body: { schedule: { cron: '0 9 * * 1', tz: 'Europe/Paris' }, count: 2, after: '2027-01-01T00:00:00Z' } });
    expect(preview.body).toEqual({ times: ['2027-01-04T08:00:00.000Z', '2027-01-11T08:00:00.000Z'] });
  });

  it('answers an unknown route 404 and a wrong method 405 with Allow', async () => {
    const missing = await h.json('/api/nothing');
    expect([missing.status, missing.body.error.code]).toEqual([404, 'NOT_FOUND']);
    const res = await h.call('/api/stats', { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('METHOD_NOT_ALLOWED');
  });
});

describe('controls', () => {
  it('cancels, pauses, resumes and runs now, answering the task after the change', async () => {
    const { body: task } = await h.json('/api/tasks', { body: { type: 'echo', params: { n: 9 }, schedule: { in: '1h' } } });
    expect((await h.json(`/api/tasks/${task.id}/pause`, { method: 'POST' })).body.paused).toBe(true);
    const again = await h.json(`/api/tasks/${task.id}/pause`, { method: 'POST' });
    expect([again.status, again.body.error.code]).toEqual([409, 'INVALID_STATE']);
    expect((await h.json(`/api/tasks/${task.id}/resume`, { method: 'POST' })).body.paused).toBe(false);
    const cancelled = await h.json(`/api/tasks/${task.id}/cancel`, { method: 'POST' });
    expect(cancelled.body).toMatchObject({ state: 'failed', reason: 'cancelled' });
    const { body: other } = await h.json('/api/tasks', { body: { type: 'echo', params: { n: 10 }, schedule: { in: '1h' } } });
    await h.json(`/api/tasks/${other.id}/run-now`, { method: 'POST' });
    expect((await waitForState(h.runtime, other.id)).state).toBe('finished');
  });
});

describe('a bulk cancel', () => {
  it('answers the count and a confirmation first, changing nothing; then, confirmed, cancels that many', async () => {
    const { body: tasks } = await h.json('/api/tasks', { body: Array.from({ length: 7 }, (_, n) => ({ type: 'noop', params: { n }, schedule: { in: '1h' } })) });
    const first = await h.json('/api/bulk/cancel', { body: { type: 'noop', state: 'queued' } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ action: 'cancel', filter: { type: 'noop', state: 'queued' }, count: 7 });
    expect(h.runtime.stats().types.noop).toEqual({ queued: 7 });
    const wrongFilter = await h.json('/api/bulk/cancel', { body: { type: 'noop', confirm: first.body.confirm } });
    expect([wrongFilter.status, wrongFilter.body.error.code]).toEqual([409, 'CONFIRMATION_INVALID']);
    const first2 = await h.json('/api/bulk/cancel', { body: { type: 'noop', state: 'queued' } });
    const second = await h.json('/api/bulk/cancel', { body: { type: 'noop', state: 'queued', confirm: first2.body.confirm } });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ action: 'cancel', limit: 7, done: 7, skipped: 0, errors: [] });
    for (const t of tasks) expect((await h.runtime.get(t.id)).reason).toBe('cancelled');
    const reused = await h.json('/api/bulk/cancel', { body: { type: 'noop', state: 'queued', confirm: first2.body.confirm } });
    expect([reused.status, reused.body.error.code]).toEqual([409, 'CONFIRMATION_INVALID']);
  });

  it('touches no more tasks than were confirmed, whatever came since', async () => {
    await h.json('/api/tasks', { body: Array.from({ length: 3 }, (_, n) => ({ type: 'noop', params: { a: n }, schedule: { in: '1h' } })) });
    const first = await h.json('/api/bulk/pause', { body: { type: 'noop' } });
    expect(first.body.count).toBe(3);
    await h.json('/api/tasks', { body: Array.from({ length: 2 }, (_, n) => ({ type: 'noop', params: { b: n }, schedule: { in: '1h' } })) });
    const second = await h.json('/api/bulk/pause', { body: { type: 'noop', confirm: first.body.confirm } });
    expect(second.body).toMatchObject({ limit: 3, done: 3 });
    await until(() => h.runtime.list({ type: 'noop', state: 'queued' }).then((l) => l.tasks.length === 5));
    expect((await h.runtime.list({ type: 'noop', state: 'queued' })).tasks.filter((t) => t.paused)).toHaveLength(3);
  });
});
