import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import type { TypeInfo } from '../api/runtime-api.js';
import type { SeriesRange, SeriesView } from '../api/series.js';
import { api } from './api.js';
import { html } from './html.js';
import type { Change } from './live.js';

/** Run ends change the counters; the charts re-read them at most this often, however busy the runtime. */
const REREAD_MS = 5000;
const HEIGHT = 160;

interface ChartSpec {
  name: string;
  title: string;
  unit: string;
  /** Mark each minute's value: quantiles have gaps (minutes without runs), so a lone minute would draw no line. */
  points?: true;
  series: Array<{ label: string; pick(v: SeriesView): Array<number | null>; stroke: string; fill?: string }>;
}

const CHARTS: readonly ChartSpec[] = [
  {
    name: 'throughput', title: 'Throughput', unit: 'runs / min',
    series: [
      { label: 'started', pick: (v) => v.started, stroke: '#2457c5' },
      { label: 'finished', pick: (v) => v.finished, stroke: '#2f855a', fill: 'rgba(47,133,90,.08)' },
    ],
  },
  {
    name: 'failures', title: 'Failures', unit: 'runs / min',
    series: [{ label: 'failed, timed out or lost', pick: (v) => v.failed, stroke: '#c53030', fill: 'rgba(197,48,48,.1)' }],
  },
  {
    name: 'run-time', title: 'Run time', unit: 'ms', points: true,
    series: [
      { label: 'p50', pick: (v) => v.runP50, stroke: '#b7791f' },
      { label: 'p95', pick: (v) => v.runP95, stroke: '#9c4221' },
    ],
  },
  {
    name: 'wait-time', title: 'Wait time (start − due)', unit: 'ms', points: true,
    series: [
      { label: 'p50', pick: (v) => v.waitP50, stroke: '#7c6f9f' },
      { label: 'p95', pick: (v) => v.waitP95, stroke: '#4c3f7f' },
    ],
  },
];

/**
 * Charts of the per-minute counters the store keeps (GET /api/series): they survive a restart and
 * cover the last hour or day, of one type or all. Re-read when runs end (from the live stream),
 * at most every REREAD_MS; never on a timer of their own.
 */
export function Charts({ types, change }: { types: readonly TypeInfo[]; change: Change | null }) {
  const [type, setType] = useState<string | null>(null);
  const [range, setRange] = useState<SeriesRange>('1h');
  const [view, setView] = useState<SeriesView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reads, setReads] = useState(0);
  const last = useRef(0);
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => {
    let current = true;
    last.current = Date.now();
    api.series(type, range).then((v) => { if (current) { setView(v); setError(null); } }, (e: Error) => { if (current) setError(e.message); });
    return () => { current = false; };
  }, [type, range, reads]);
  useEffect(() => {
    if (change === null || pending.current !== null) return;
    if (!change.full && type !== null && !change.types.has(type)) return;
    const wait = Math.max(0, last.current + REREAD_MS - Date.now());
    pending.current = setTimeout(() => { pending.current = null; setReads((n) => n + 1); }, wait);
  }, [change?.seq]);
  useEffect(() => () => { if (pending.current !== null) clearTimeout(pending.current); }, []);

  return html`<section class="charts">
    <header class="charts-head">
      <h2>Runs per minute</h2>
      <label>type <select name="chart-type" value=${type ?? ''} onChange=${(e: Event) => { const v = (e.target as HTMLSelectElement).value; setType(v === '' ? null : v); }}>
        <option value="">all types</option>
        ${types.map((t) => html`<option value=${t.name}>${t.name}</option>`)}
      </select></label>
      <span class="ranges">${(['1h', '24h'] as const).map((r) => html`<button type="button" class=${r === range ? 'on' : ''} aria-pressed=${r === range} onClick=${() => setRange(r)}>${r === '1h' ? 'last hour' : 'last day'}</button>`)}</span>
      ${error !== null ? html`<span class="error">${error}</span>` : null}
    </header>
    <div class="chart-grid">
      ${CHARTS.map((spec) => html`<${Chart} key=${spec.name} spec=${spec} view=${view} />`)}
    </div>
  </section>`;
}

function Chart({ spec, view }: { spec: ChartSpec; view: SeriesView | null }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    if (box.current === null || view === null) return;
    const data: uPlot.AlignedData = [view.minutes, ...spec.series.map((s) => s.pick(view))];
    if (plot.current === null) {
      plot.current = new uPlot({
        width: Math.max(240, box.current.clientWidth),
        height: HEIGHT,
        legend: { show: true },
        cursor: { y: false },
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [{}, { size: 56 }],
        series: [{}, ...spec.series.map((s) => ({ label: s.label, stroke: s.stroke, width: 1.5, spanGaps: false, points: { show: spec.points === true, size: 4 }, ...(s.fill !== undefined ? { fill: s.fill } : {}) }))],
      }, data, box.current);
    } else {
      plot.current.setData(data);
    }
  }, [view]);
  useEffect(() => () => { plot.current?.destroy(); plot.current = null; }, []);
  const total = view === null ? 0 : spec.series[0]!.pick(view).reduce<number>((sum, v) => sum + (v ?? 0), 0);
  return html`<figure class="chart" data-chart=${spec.name} data-points=${view === null ? 0 : spec.series[0]!.pick(view).filter((v) => v !== null && v !== 0).length} data-total=${total}>
    <figcaption>${spec.title} <span class="muted">${spec.unit}</span></figcaption>
    <div ref=${box}></div>
  </figure>`;
}
