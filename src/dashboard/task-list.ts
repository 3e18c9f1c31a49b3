import { useEffect, useState } from 'preact/hooks';
import type { TypeInfo } from '../api/runtime-api.js';
import type { TaskState } from '../api/states.js';
import type { TaskView } from '../api/views.js';
import { ApiError, api, SHOWN_STATES } from './api.js';
import { BulkActions } from './bulk-actions.js';
import { relative, time } from './format.js';
import { html } from './html.js';
import type { Change } from './live.js';

export interface Filter { state?: TaskState; type?: string }

interface Props {
  filter: Filter;
  setFilter(f: Filter): void;
  types: readonly TypeInfo[];
  change: Change | null;
  selected: string | null;
  onSelect(id: string): void;
  readOnly: boolean;
}

export const PAGE_SIZE = 50;

/**
 * Tasks by state and type, newest first, a page at a time (GET /api/tasks with the store's
 * cursor): with millions of tasks the page still reads 50. The search box narrows the page shown
 * to ids starting with what is typed; Enter opens the task with exactly that id.
 */
export function TaskList({ filter, setFilter, types, change, selected, onSelect, readOnly }: Props) {
  // cursors[i] is the cursor that reads page i (null for the first), kept with the filter it
  // pages through: another filter starts again at its first page, with no read of a stale cursor.
  const key = `${filter.state ?? ''}\n${filter.type ?? ''}`;
  const [paging, setPaging] = useState<{ key: string; cursors: Array<string | null> }>({ key, cursors: [null] });
  const cursors = paging.key === key ? paging.cursors : [null];
  const setCursors = (c: Array<string | null>) => setPaging({ key, cursors: c });
  const [page, setPage] = useState<{ tasks: TaskView[]; cursor: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [search, setSearch] = useState('');
  const [searchError, setSearchError] = useState<string | null>(null);
  const [reads, setReads] = useState(0);
  const at = cursors.length - 1;

  useEffect(() => {
    let current = true;
    api.list({ state: filter.state, type: filter.type, cursor: cursors[at] ?? null, limit: PAGE_SIZE })
      .then((p) => { if (current) { setPage(p); setError(null); } }, (e: Error) => { if (current) setError(e.message); });
    return () => { current = false; };
  }, [key, at, cursors[at], reads]);
  // Live: the first page is re-read on any change (new tasks show at its top); a later page only
  // when a task on it changed (what moved away is gone at the next read, nothing is inserted).
  useEffect(() => {
    if (change === null || page === null) return;
    if (change.full || at === 0 || page.tasks.some((t) => change.ids.has(t.id))) setReads((n) => n + 1);
  }, [change?.seq]);

  const lookUp = (e: Event) => {
    e.preventDefault();
    const id = search.trim();
    if (id === '') return;
    setSearchError(null);
    api.task(id).then((t) => onSelect(t.id), (err: Error) => setSearchError(err instanceof ApiError && err.code === 'NOT_FOUND' ? `no task with id ${id}` : err.message));
  };
  const needle = search.trim();
  const shown = page === null ? [] : needle === '' ? page.tasks : page.tasks.filter((t) => t.id.startsWith(needle));

  return html`<section class="tasks">
    <h2>Tasks</h2>
    <form class="filters" onSubmit=${lookUp}>
      <label>state <select name="state" value=${filter.state ?? ''} onChange=${(e: Event) => { const v = (e.target as HTMLSelectElement).value; setFilter({ ...withoutKey(filter, 'state'), ...(v !== '' ? { state: v as TaskState } : {}) }); }}>
        <option value="">any</option>
        ${SHOWN_STATES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label>
      <label>type <select name="type" value=${filter.type ?? ''} onChange=${(e: Event) => { const v = (e.target as HTMLSelectElement).value; setFilter({ ...withoutKey(filter, 'type'), ...(v !== '' ? { type: v } : {}) }); }}>
        <option value="">any</option>
        ${types.map((t) => html`<option value=${t.name}>${t.name}</option>`)}
      </select></label>
      <label>id <input name="id" type="search" placeholder="id prefix on this page; Enter: exact id" autocomplete="off" spellcheck=${false} value=${search} onInput=${(e: Event) => { setSearch((e.target as HTMLInputElement).value); setSearchError(null); }} /></label>
      ${searchError !== null ? html`<span class="error">${searchError}</span>` : null}
    </form>
    ${readOnly ? null : html`<${BulkActions} filter=${filter} />`}
    ${error !== null ? html`<p class="error">${error}</p>` : null}
    <table class="list">
      <thead><tr><th>id</th><th>type</th><th>state</th><th class="num">tries</th><th>next run</th><th>updated</th></tr></thead>
      <tbody>
        ${shown.map((t) => html`<tr key=${t.id} data-id=${t.id} class=${t.id === selected ? 'selected' : ''} onClick=${() => onSelect(t.id)}>
          <td class="id"><a href=${`#task/${encodeURIComponent(t.id)}`} title=${t.id}>${t.id}</a></td>
          <td>${t.type}</td>
          <td><${StateBadge} task=${t} /></td>
          <td class="num">${t.tries} / ${t.maxTries}</td>
          <td>${t.nextRunAt === null ? '—' : html`<span title=${t.nextRunAt}>${relative(t.nextRunAt)}</span>`}</td>
          <td title=${t.updatedAt}>${time(t.updatedAt)}</td>
        </tr>`)}
      </tbody>
    </table>
    ${page !== null && shown.length === 0 ? html`<p class="muted empty">${needle !== '' ? 'No id on this page starts with that; press Enter to look the exact id up.' : 'No tasks.'}</p>` : null}
    <nav class="pager">
      <button type="button" disabled=${at === 0} onClick=${() => setCursors(cursors.slice(0, -1))}>← Newer</button>
      <span class="muted">page ${at + 1}</span>
      <button type="button" disabled=${page?.cursor == null} onClick=${() => page?.cursor != null && setCursors([...cursors, page.cursor])}>Older →</button>
    </nav>
  </section>`;
}

export function StateBadge({ task }: { task: TaskView }) {
  return html`<span class=${`badge state-${task.state}`}>${task.state}${task.reason !== null && task.reason !== undefined ? ` (${task.reason})` : ''}</span>${task.paused ? html` <span class="badge paused">paused</span>` : null}`;
}

function withoutKey<K extends keyof Filter>(f: Filter, key: K): Filter {
  const copy = { ...f };
  delete copy[key];
  return copy;
}
