import { useEffect, useState } from 'preact/hooks';
import type { HistoryView, RunView, TaskView } from '../api/views.js';
import { api, type Control, controlsFor, OPEN_STATES } from './api.js';
import { duration, json, relative, time } from './format.js';
import { html } from './html.js';
import type { Change } from './live.js';
import { useRunProgress } from './run-progress.js';
import { StateBadge } from './task-list.js';

const LABEL: Record<Control, string> = { cancel: 'Cancel', pause: 'Pause', resume: 'Resume', 'run-now': 'Run now' };
const NEXT_FIRE_TIMES = 5;

interface Detail { task: TaskView; runs: RunView[]; history: HistoryView[]; next: string[] | null }

/** One task: what it was given, what it did, when it fires next; and its controls. */
export function TaskDetail({ id, change, readOnly, onClose }: { id: string; change: Change | null; readOnly: boolean; onClose(): void }) {
  const [detail, setDetail] = useState<Detail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [reads, setReads] = useState(0);

  useEffect(() => { setDetail(null); setError(null); }, [id]);
  const live = useRunProgress(id, detail?.task.state === 'running', () => setReads((n) => n + 1));
  // The live value of the running run, else what its record last held.
  const runProgress = (r: RunView): number | null => (live !== null && live.run === r.run ? live.progress : r.progress);
  useEffect(() => {
    let current = true;
    read(id).then((d) => { if (current) { setDetail(d); setError(null); } }, (e: Error) => { if (current) setError(e.message); });
    return () => { current = false; };
  }, [id, reads]);
  useEffect(() => {
    if (change !== null && (change.full || change.ids.has(id))) setReads((n) => n + 1);
  }, [change?.seq]);

  const control = (action: Control) => {
    setBusy(true);
    setError(null);
    api.control(id, action).then(() => setReads((n) => n + 1), (e: Error) => setError(e.message)).finally(() => setBusy(false));
  };

  return html`<aside class="detail" aria-label="task detail">
    <header>
      <h2>Task <code class="task-id">${id}</code></h2>
      <button type="button" class="close" aria-label="close" onClick=${onClose}>×</button>
    </header>
    ${error !== null ? html`<p class="error">${error}</p>` : null}
    ${detail === null ? (error === null ? html`<p class="muted">Loading…</p>` : null) : html`
      <p class="summary"><${StateBadge} task=${detail.task} /> <b class="type">${detail.task.type}</b>
        <span class="muted">tries ${detail.task.tries} of ${detail.task.maxTries}, ${detail.task.runCount} runs, priority ${detail.task.priority}</span></p>
      ${readOnly ? null : html`<p class="actions">${controlsFor(detail.task).map((a) => html`<button type="button" class=${a === 'cancel' ? 'danger' : ''} disabled=${busy} onClick=${() => control(a)}>${LABEL[a]}</button>`)}</p>`}
      <dl class="facts">
        <dt>created</dt><dd>${time(detail.task.createdAt)}</dd>
        <dt>updated</dt><dd>${time(detail.task.updatedAt)}</dd>
        ${detail.task.endedAt !== null ? html`<dt>ended</dt><dd>${time(detail.task.endedAt)}</dd>` : null}
        ${detail.task.nextRunAt !== null ? html`<dt>next run</dt><dd>${time(detail.task.nextRunAt)} <span class="muted">${relative(detail.task.nextRunAt)}</span></dd>` : null}
        ${detail.task.key !== null ? html`<dt>key</dt><dd><code>${detail.task.key}</code></dd>` : null}
        <dt>timeout</dt><dd>${duration(detail.task.timeoutMs)}</dd>
      </dl>
      <h3>Params</h3>
      <pre class="json">${json(detail.task.params)}</pre>
      ${detail.task.schedule !== null && detail.task.schedule !== undefined ? html`
        <h3>Schedule</h3>
        <pre class="json">${json(detail.task.schedule)}</pre>
        ${detail.next !== null ? html`<p class="muted">next fire times:</p><ol class="fires">${detail.next.map((t) => html`<li title=${t}>${time(t)} <span class="muted">${relative(t)}</span></li>`)}</ol>` : null}` : null}
      <h3>Runs</h3>
      ${detail.runs.length === 0 ? html`<p class="muted">No runs yet.</p>` : html`<table class="runs">
        <thead><tr><th class="num">run</th><th class="num">try</th><th>state</th><th>started</th><th class="num">took</th><th>progress</th><th>worker</th></tr></thead>
        <tbody>${detail.runs.map((r) => html`<tr data-run=${r.run}><td class="num">${r.run}</td><td class="num">${r.attempt}</td><td><span class=${`badge state-${r.state}`}>${r.state}</span></td><td>${time(r.startedAt)}</td><td class="num">${duration(r.durationMs)}</td><td>${progressCell(runProgress(r))}</td><td>${r.worker ?? ''}</td></tr>`)}</tbody>
      </table>`}
      ${lastWith(detail.runs, 'output') !== undefined ? html`<h3>Output <span class="muted">(run ${lastWith(detail.runs, 'output')!.run})</span></h3><pre class="json">${json(lastWith(detail.runs, 'output')!.output)}</pre>` : null}
      ${lastWith(detail.runs, 'error') !== undefined ? html`<${RunErrorView} run=${lastWith(detail.runs, 'error')!} />` : null}
      <h3>History</h3>
      <table class="history">
        <thead><tr><th>at</th><th>event</th><th>from → to</th><th>reason</th></tr></thead>
        <tbody>${detail.history.map((h) => html`<tr><td title=${h.at}>${time(h.at)}</td><td>${h.event}</td><td>${h.from} → ${h.to}</td><td>${h.reason ?? ''}</td></tr>`)}</tbody>
      </table>`}
  </aside>`;
}

function progressCell(p: number | null) {
  if (p === null) return html`<span class="zero">—</span>`;
  return html`<progress class="run-progress" max="1" value=${p} data-progress=${p}></progress> <span class="muted">${Math.round(p * 100)}%</span>`;
}

function RunErrorView({ run }: { run: RunView }) {
  const e = run.error!;
  return html`<h3>Error <span class="muted">(run ${run.run})</span></h3>
    <p class="error-line"><b>${e.name ?? 'Error'}</b>${e.code !== undefined ? html` <code>${e.code}</code>` : null}: ${e.message ?? ''}</p>
    ${typeof e.stack === 'string' ? html`<pre class="stack">${e.stack}</pre>` : null}`;
}

function lastWith(runs: RunView[], field: 'output' | 'error'): RunView | undefined {
  for (let i = runs.length - 1; i >= 0; i--) {
    const v = runs[i]![field];
    if (v !== null && v !== undefined) return runs[i];
  }
  return undefined;
}

async function read(id: string): Promise<Detail> {
  const [task, runs, history] = await Promise.all([api.task(id), api.runs(id), api.history(id)]);
  let next: string[] | null = null;
  if (task.recurring && OPEN_STATES.includes(task.state) && task.schedule !== null) {
    next = await api.preview(task.schedule, NEXT_FIRE_TIMES).then((p) => p.times, () => null);
  }
  return { task, runs, history, next };
}
