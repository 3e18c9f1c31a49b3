import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { TypeInfo } from '../api/runtime-api.js';
import type { TaskState } from '../api/states.js';
import { api, type Info } from './api.js';
import { html } from './html.js';
import { type Change, type ConnectionState, Live } from './live.js';
import { Charts } from './charts.js';
import { Overview } from './overview.js';
import { Search } from './search.js';
import { TaskDetail } from './task-detail.js';
import { type Filter, TaskList } from './task-list.js';

/** At most one re-read of what is shown per this interval, however many events arrive. */
const COALESCE_MS = 1000;

/** The open task, from the URL's hash (`#task/ID`), so back and reload keep it. */
function hashTask(): string | null {
  const m = /^#task\/(.+)$/.exec(location.hash);
  return m === null ? null : decodeURIComponent(m[1]!);
}

function App({ info }: { info: Info }) {
  const [types, setTypes] = useState<TypeInfo[]>([]);
  const [change, setChange] = useState<Change | null>(null);
  const [connection, setConnection] = useState<ConnectionState>('connecting');
  const [filter, setFilter] = useState<Filter>({});
  const [selected, setSelected] = useState<string | null>(hashTask());

  useEffect(() => {
    const live = new Live({ url: '/events?types=task.state,run.ended', coalesceMs: COALESCE_MS, onChange: setChange, onConnection: setConnection });
    const onHash = () => setSelected(hashTask());
    addEventListener('hashchange', onHash);
    return () => { live.close(); removeEventListener('hashchange', onHash); };
  }, []);
  // Types change only with a restart, which re-opens the stream (`ready`): re-read them then.
  useEffect(() => {
    if (change === null || change.full) api.types().then(setTypes, () => undefined);
  }, [change?.seq]);

  const select = (id: string | null) => { location.hash = id === null ? '' : `task/${encodeURIComponent(id)}`; };
  const pick = (f: { type?: string; state?: TaskState }) => setFilter(f);

  return html`<header class="top">
      <h1>Spindle</h1>
      <span class="muted">v${info.version}</span>
      ${info.readOnly ? html`<span class="badge read-only" title="--http-read-only: changes go through the socket">read-only</span>` : null}
      <span class=${`connection ${connection}`} data-connection=${connection}>${connection === 'live' ? '● live' : connection === 'connecting' ? '○ connecting' : '○ reconnecting…'}</span>
    </header>
    <div class="layout">
      <div class="main">
        <${Overview} types=${types} change=${change} onPick=${pick} />
        <${Charts} types=${types} change=${change} />
        <${Search} types=${types} onSelect=${select} />
        <${TaskList} filter=${filter} setFilter=${setFilter} types=${types} change=${change} selected=${selected} onSelect=${select} readOnly=${info.readOnly} />
      </div>
      ${selected !== null ? html`<${TaskDetail} id=${selected} change=${change} readOnly=${info.readOnly} onClose=${() => select(null)} />` : null}
    </div>`;
}

const root = document.getElementById('app')!;
api.info().then(
  (info) => render(html`<${App} info=${info} />`, root),
  (e: Error) => render(html`<p class="error">The runtime did not answer: ${e.message}. Open the URL <code>spindle dashboard</code> prints.</p>`, root),
);
