import { useState } from 'preact/hooks';
import type { SearchOptions } from '../api/dashboard-views.js';
import type { TypeInfo } from '../api/runtime-api.js';
import type { TaskView } from '../api/views.js';
import { api } from './api.js';
import { time } from './format.js';
import { html } from './html.js';
import { StateBadge } from './task-list.js';

const PAGE = 50;

interface Result { query: SearchOptions; tasks: TaskView[]; cursor: string | null; partial: boolean }

/**
 * Search by id prefix, type, creation time and error words (GET /api/search), answered from the
 * store's indexes: an id prefix and a time range are ranges of ids, error words an index of failed
 * tasks. Runs when asked (Enter or the button), not as one types.
 */
export function Search({ types, onSelect }: { types: readonly TypeInfo[]; onSelect(id: string): void }) {
  const [form, setForm] = useState({ id: '', type: '', from: '', to: '', text: '' });
  const [result, setResult] = useState<Result | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = (query: SearchOptions, more: Result | null) => {
    setBusy(true);
    setError(null);
    api.search(query).then((page) => setResult({
      query, tasks: more === null ? page.tasks : [...more.tasks, ...page.tasks], cursor: page.cursor, partial: page.partial,
    }), (e: Error) => setError(e.message)).finally(() => setBusy(false));
  };
  const submit = (e: Event) => {
    e.preventDefault();
    const query: SearchOptions = { limit: PAGE };
    if (form.id.trim() !== '') query.idPrefix = form.id.trim().toLowerCase();
    if (form.type !== '') query.type = form.type;
    if (form.from !== '') query.from = new Date(form.from).toISOString();
    if (form.to !== '') query.to = new Date(form.to).toISOString();
    if (form.text.trim() !== '') query.text = form.text.trim();
    run(query, null);
  };
  const field = (name: keyof typeof form) => (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value });

  return html`<section class="search">
    <h2>Search</h2>
    <form class="filters" role="search" onSubmit=${submit}>
      <label>error <input name="text" type="search" placeholder="words of a failed task's error, e.g. ECONNREFUSED timeout" value=${form.text} onInput=${field('text')} /></label>
      <label>id <input name="id-prefix" class="short" placeholder="id prefix" autocomplete="off" spellcheck=${false} value=${form.id} onInput=${field('id')} /></label>
      <label>type <select name="search-type" value=${form.type} onChange=${field('type')}>
        <option value="">any</option>
        ${types.map((t) => html`<option value=${t.name}>${t.name}</option>`)}
      </select></label>
      <label>created from <input name="from" type="datetime-local" value=${form.from} onInput=${field('from')} /></label>
      <label>to <input name="to" type="datetime-local" value=${form.to} onInput=${field('to')} /></label>
      <button type="submit" disabled=${busy}>Search</button>
    </form>
    ${error !== null ? html`<p class="error">${error}</p>` : null}
    ${result === null ? null : html`
      <table class="list results">
        <thead><tr><th>id</th><th>type</th><th>state</th><th>error</th><th>created</th></tr></thead>
        <tbody>${result.tasks.map((t) => html`<tr key=${t.id} data-id=${t.id} onClick=${() => onSelect(t.id)}>
          <td class="id"><a href=${`#task/${encodeURIComponent(t.id)}`}>${t.id}</a></td>
          <td>${t.type}</td>
          <td><${StateBadge} task=${t} /></td>
          <td class="error-cell" title=${t.lastRun?.error?.message ?? ''}>${t.lastRun?.error != null ? html`<code>${t.lastRun.error.code}</code> ${t.lastRun.error.message}` : ''}</td>
          <td title=${t.createdAt}>${time(t.createdAt)}</td>
        </tr>`)}</tbody>
      </table>
      <p class="muted search-status">${result.tasks.length === 0 ? 'Nothing found.' : `${result.tasks.length} found.`}
        ${result.partial ? ' Stopped after reading its share of the index; ask for more to go on.' : ''}
        ${result.cursor !== null ? html` <button type="button" disabled=${busy} onClick=${() => run({ ...result.query, cursor: result.cursor! }, result)}>More</button>` : null}</p>`}
  </section>`;
}
