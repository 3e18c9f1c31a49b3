import { useEffect, useState } from 'preact/hooks';
import type { Stats, TypeInfo } from '../api/runtime-api.js';
import type { TaskState } from '../api/states.js';
import { api, SHOWN_STATES } from './api.js';
import { duration } from './format.js';
import { html } from './html.js';
import type { Change } from './live.js';

interface Props {
  types: readonly TypeInfo[];
  change: Change | null;
  onPick(filter: { type?: string; state?: TaskState }): void;
}

/** Counts per type and state from GET /api/stats (the runtime's counters: no store scan), running against each type's concurrency. */
export function Overview({ types, change, onPick }: Props) {
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let current = true;
    api.stats().then((s) => { if (current) { setStats(s); setError(null); } }, (e: Error) => { if (current) setError(e.message); });
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
      <thead><tr><th>type</th>${SHOWN_STATES.map((s) => html`<th class="num">${s}</th>`)}<th>running / concurrency</th></tr></thead>
      <tbody>
        ${names.map((name) => {
          const row = stats.types[name] ?? {};
          const limit = concurrency.get(name) ?? null;
          const running = row['running'] ?? 0;
          return html`<tr>
            <th><a href="#" onClick=${(e: Event) => { e.preventDefault(); onPick({ type: name }); }}>${name}</a></th>
            ${SHOWN_STATES.map((s) => html`<td class="num">${count(row[s], name, s)}</td>`)}
            <td>${limit === null ? html`${running} <span class="muted">(no limit)</span>` : html`${running} / ${limit} <meter min="0" max=${limit} value=${running}></meter>`}</td>
          </tr>`;
        })}
      </tbody>
      <tfoot><tr><th>all</th>${SHOWN_STATES.map((s) => html`<td class="num">${count(stats.states[s], undefined, s)}</td>`)}<td></td></tr></tfoot>
    </table>
  </section>`;
}
