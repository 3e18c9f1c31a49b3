import { useEffect, useState } from 'preact/hooks';
import type { TypeOverview } from '../api/dashboard-views.js';
import type { Stats, TypeInfo } from '../api/runtime-api.js';
import type { TaskState } from '../api/states.js';
import { api, SHOWN_STATES } from './api.js';
import { duration, relative } from './format.js';
import { html } from './html.js';
import type { Change } from './live.js';

interface Props {
  types: readonly TypeInfo[];
  change: Change | null;
  onPick(filter: { type?: string; state?: TaskState }): void;
}

/**
 * Counts per type and state from GET /api/stats, running against each type's concurrency, paused
 * tasks and the oldest queued one from GET /api/overview: counters and one index entry per type,
 * never a store scan.
 */
export function Overview({ types, change, onPick }: Props) {
  const [stats, setStats] = useState<Stats | null>(null);
  const [rows, setRows] = useState<ReadonlyMap<string, TypeOverview>>(new Map());
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    Promise.all([api.stats(), api.overview()]).then(([s, o]) => {
      if (current) { setStats(s); setRows(new Map(o.map((r) => [r.type, r]))); setError(null); }
    }, (e: Error) => { if (current) setError(e.message); });
    return () => { current = false; };
  }, [change?.seq]);

  if (stats === null) return html`<section class="overview"><h2>Overview</h2><p class=${error === null ? 'muted' : 'error'}>${error ?? 'Loading…'}</p></section>`;
  const names = [...new Set([...types.map((t) => t.name), ...Object.keys(stats.types)])].sort();
  const concurrency = new Map(types.map((t) => [t.name, t.concurrency]));
  const count = (n: number | undefined, type: string | undefined, state: TaskState) => (n ?? 0) === 0
    ? html`<span class="zero">0</span>`
    : html`<a href="#" class=${`count state-${state}`} onClick=${(e: Event) => { e.preventDefault(); onPick({ ...(type !== undefined ? { type } : {}), state }); }}>${n}</a>`;
  return html`<section class="overview">
    <h2>Overview</h2>
    <p class="workers">
      ${stats.pools.map((p) => html`<span class="pool">${p.mode}: <b>${p.busy}</b> of ${p.size} workers busy <meter min="0" max=${p.size} value=${p.busy}></meter></span>`)}
      <span class="muted">up ${duration(stats.uptimeMs)}</span>
      ${error !== null ? html`<span class="error">${error}</span>` : null}
    </p>
    <table class="counts">
      <thead><tr><th>type</th>${SHOWN_STATES.map((s) => html`<th class="num">${s}</th>`)}<th title="running / concurrency">running / limit</th><th class="num">paused</th><th>oldest queued</th></tr></thead>
      <tbody>
        ${names.map((name) => {
          const row = stats.types[name] ?? {};
          const limit = concurrency.get(name) ?? null;
          const running = row['running'] ?? 0;
          return html`<tr>
            <th><a href="#" onClick=${(e: Event) => { e.preventDefault(); onPick({ type: name }); }}>${name}</a></th>
            ${SHOWN_STATES.map((s) => html`<td class="num">${count(row[s], name, s)}</td>`)}
            <td>${limit === null ? html`${running} <span class="muted">(no limit)</span>` : html`${running} / ${limit} <meter min="0" max=${limit} value=${running}></meter>`}</td>
            <td class="num paused">${rows.get(name)?.paused ?? 0}</td>
            <td class="oldest">${oldest(rows.get(name))}</td>
          </tr>`;
        })}
      </tbody>
      <tfoot><tr><th>all</th>${SHOWN_STATES.map((s) => html`<td class="num">${count(stats.states[s], undefined, s)}</td>`)}<td></td><td class="num">${[...rows.values()].reduce((n, r) => n + r.paused, 0)}</td><td></td></tr></tfoot>
    </table>
  </section>`;
}

/** The oldest queued task's age (since it was created), and when it is due: a future due time is a schedule, not a backlog. */
function oldest(row: TypeOverview | undefined) {
  const o = row?.oldestQueued;
  if (o == null) return html`<span class="zero">—</span>`;
  const due = o.nextRunAt === null ? 'no due time' : `due ${relative(o.nextRunAt)}`;
  return html`<a href=${`#task/${encodeURIComponent(o.id)}`} title=${`${o.id}, created ${o.createdAt}`}>${relative(o.createdAt).replace(/ ago$/, '')}</a> <span class="muted">${o.paused ? 'paused' : due}</span>`;
}
