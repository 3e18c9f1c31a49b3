/** The runtime's JSON API as the page uses it (README, Dashboard and metrics). Same-origin, cookie-authenticated. */

import type { SearchOptions, SearchPage, TypeOverview } from '../api/dashboard-views.js';
import type { Stats, TypeInfo } from '../api/runtime-api.js';
import type { SeriesRange, SeriesView } from '../api/series.js';
import { TASK_STATES, type TaskState } from '../api/states.js';
import type { HistoryView, RunView, TaskView } from '../api/views.js';

/** The states a stored task can be in: the page's columns and filter ('none' is before a submit is stored). */
export const SHOWN_STATES: readonly TaskState[] = TASK_STATES.filter((s) => s !== 'none');
export const OPEN_STATES: readonly TaskState[] = ['spooled', 'queued', 'running'];

export interface Info { version: string; readOnly: boolean }
export interface Page { tasks: TaskView[]; cursor: string | null }
export type Control = 'cancel' | 'pause' | 'resume' | 'run-now';
export interface BulkFilter { state?: TaskState; type?: string }
export interface BulkPreview { action: Control; filter: BulkFilter; count: number; confirm: string; expiresAt: string }
export interface BulkResult { action: Control; filter: BulkFilter; limit: number; done: number; skipped: number; errors: Array<{ id: string; code: string }> }

/** A refusal from the API: its stable `code` and its message (which says what to do next). */
export class ApiError extends Error {
  constructor(readonly code: string, message: string, readonly status: number) {
    super(message);
  }
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: 'same-origin', headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers = { accept: 'application/json', 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const answer = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (!res.ok) {
    throw new ApiError(answer?.error?.code ?? 'INTERNAL', answer?.error?.message ?? `HTTP ${res.status}`, res.status);
  }
  return answer as T;
}

const id = (taskId: string): string => encodeURIComponent(taskId);

export const api = {
  info: () => call<Info>('GET', '/api/info'),
  stats: () => call<Stats>('GET', '/api/stats'),
  types: () => call<TypeInfo[]>('GET', '/api/types'),
  list(filter: { state?: TaskState | undefined; type?: string | undefined; cursor?: string | null; limit: number }): Promise<Page> {
    const q = new URLSearchParams({ limit: String(filter.limit) });
    if (filter.state !== undefined) q.set('state', filter.state);
    if (filter.type !== undefined) q.set('type', filter.type);
    if (filter.cursor !== undefined && filter.cursor !== null) q.set('cursor', filter.cursor);
    return call<Page>('GET', `/api/tasks?${q.toString()}`);
  },
  overview: () => call<TypeOverview[]>('GET', '/api/overview'),
  series(type: string | null, range: SeriesRange): Promise<SeriesView> {
    const q = new URLSearchParams({ range });
    if (type !== null) q.set('type', type);
    return call<SeriesView>('GET', `/api/series?${q.toString()}`);
  },
  search(options: SearchOptions): Promise<SearchPage> {
    const q = new URLSearchParams();
    const fields: Array<[string, string | number | undefined]> = [
      ['id', options.idPrefix], ['type', options.type], ['from', options.from], ['to', options.to],
      ['text', options.text], ['limit', options.limit], ['cursor', options.cursor],
    ];
    for (const [k, v] of fields) if (v !== undefined && v !== '') q.set(k, String(v));
    return call<SearchPage>('GET', `/api/search?${q.toString()}`);
  },
  task: (taskId: string) => call<TaskView>('GET', `/api/tasks/${id(taskId)}`),
  runs: (taskId: string) => call<RunView[]>('GET', `/api/tasks/${id(taskId)}/runs`),
  history: (taskId: string) => call<HistoryView[]>('GET', `/api/tasks/${id(taskId)}/history`),
  control: (taskId: string, action: Control) => call<TaskView>('POST', `/api/tasks/${id(taskId)}/${action}`, {}),
  preview: (schedule: unknown, count: number) => call<{ times: string[] }>('POST', '/api/preview', { schedule, count }),
  bulkPreview: (action: Control, filter: BulkFilter) => call<BulkPreview>('POST', `/api/bulk/${action}`, filter),
  bulkAct: (action: Control, filter: BulkFilter, confirm: string) => call<BulkResult>('POST', `/api/bulk/${action}`, { ...filter, confirm }),
};

/** The controls a task takes in its state (README, Lifecycle); the API refuses the rest with INVALID_STATE. */
export function controlsFor(task: TaskView): Control[] {
  if (!OPEN_STATES.includes(task.state)) return [];
  const out: Control[] = ['cancel'];
  out.push(task.paused ? 'resume' : 'pause');
  if (task.state === 'queued' && !task.paused) out.push('run-now');
  return out;
}
