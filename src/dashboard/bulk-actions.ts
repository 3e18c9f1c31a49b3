import { useEffect, useState } from 'preact/hooks';
import { api, type BulkFilter, type BulkPreview, type BulkResult, type Control } from './api.js';
import { html } from './html.js';

const LABEL: Record<Control, string> = { cancel: 'Cancel', pause: 'Pause', resume: 'Resume', 'run-now': 'Run now' };

/**
 * Bulk actions on every task matching the list's filter, in the API's two steps: the first call
 * counts and hands back a confirmation, the second (after the user has seen the count) acts.
 */
export function BulkActions({ filter }: { filter: BulkFilter }) {
  const [preview, setPreview] = useState<BulkPreview | null>(null);
  const [result, setResult] = useState<BulkResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => { setPreview(null); setResult(null); setError(null); }, [filter.state, filter.type]);

  const ask = (action: Control) => {
    setBusy(true); setResult(null); setError(null);
    api.bulkPreview(action, filter).then(setPreview, (e: Error) => setError(e.message)).finally(() => setBusy(false));
  };
  const act = (p: BulkPreview) => {
    setBusy(true);
    api.bulkAct(p.action, p.filter, p.confirm).then((r) => { setResult(r); setPreview(null); }, (e: Error) => { setError(e.message); setPreview(null); }).finally(() => setBusy(false));
  };
  const what = [filter.state ?? 'open', filter.type, 'tasks'].filter((w) => w !== undefined).join(' ');

  return html`<div class="bulk">
    <span class="muted">All ${what}:</span>
    ${(Object.keys(LABEL) as Control[]).map((a) => html`<button type="button" disabled=${busy} onClick=${() => ask(a)}>${LABEL[a]}…</button>`)}
    ${preview !== null ? html`<div class="confirm" role="alertdialog">
      ${preview.count === 0
        ? html`<span>No task to ${LABEL[preview.action].toLowerCase()} matches.</span> <button type="button" onClick=${() => setPreview(null)}>OK</button>`
        : html`<span>${LABEL[preview.action]} <b>${preview.count}</b> ${preview.count === 1 ? 'task' : 'tasks'}?</span>
          <button type="button" class="danger" disabled=${busy} onClick=${() => act(preview)}>${LABEL[preview.action]} ${preview.count}</button>
          <button type="button" onClick=${() => setPreview(null)}>Back</button>`}
    </div>` : null}
    ${result !== null ? html`<span class="done">${LABEL[result.action]}: ${result.done} done, ${result.skipped} skipped${result.errors.length > 0 ? `, errors: ${result.errors.map((e) => `${e.id} ${e.code}`).join(', ')}` : ''}</span>` : null}
    ${error !== null ? html`<span class="error">${error}</span>` : null}
  </div>`;
}
