import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Stats } from '../api/runtime-api.js';
import { TASK_STATES } from '../api/states.js';
import type { SupervisorObserver } from '../supervisor/observer.js';

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600];
const SHOWN_STATES = TASK_STATES.filter((s) => s !== 'none');

interface Source {
  stats(): Stats;
  /** Every loaded type, so a type with no task shows zeros rather than nothing. */
  typeNames(): Iterable<string>;
}

/**
 * The runtime's Prometheus metrics, in a registry of its own (two runtimes in one process do not
 * mix). Counts and histograms are fed by the supervisor's numeric observer (a few calls per run,
 * no event objects); gauges are read from the runtime's counters when scraped. Labels are types,
 * states, outcomes, policies and method names: never a task id, so the series stay few.
 */
export class RuntimeMetrics {
  readonly registry = new Registry();
  readonly observer: SupervisorObserver;
  readonly #rpc: Counter<'method' | 'code'>;

  constructor(source: Source) {
    const registers = [this.registry];
    // The default process_* and nodejs_* metrics. prom-client starts an event-loop-delay monitor
    // and a GC observer for them that it never stops: a few objects per runtime started.
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'spindle_tasks', help: 'Tasks by type and state, from the runtime\'s counters.', labelNames: ['type', 'state'], registers,
      collect() {
        this.reset();
        const { types } = source.stats();
        const names = new Set([...source.typeNames(), ...Object.keys(types)]);
        for (const type of names) {
          const counts = types[type] ?? {};
          for (const state of SHOWN_STATES) this.set({ type, state }, (counts as Record<string, number>)[state] ?? 0);
        }
      },
    });
    new Gauge({
      name: 'spindle_workers', help: 'Workers by mode (threads, processes) and state (busy, idle).', labelNames: ['mode', 'state'], registers,
      collect() {
        this.reset();
        const seen = new Map<string, { size: number; busy: number }>();
        for (const p of source.stats().pools) {
          const sum = seen.get(p.mode) ?? { size: 0, busy: 0 };
          sum.size += p.size;
          sum.busy += p.busy;
          seen.set(p.mode, sum);
        }
        for (const [mode, { size, busy }] of seen) {
          this.set({ mode, state: 'busy' }, busy);
          this.set({ mode, state: 'idle' }, Math.max(0, size - busy));
        }
      },
    });
    const runs = new Counter({ name: 'spindle_runs_total', help: 'Runs ended, by type and outcome (finished, failed, timeout, lost, cancelled, interrupted).', labelNames: ['type', 'outcome'], registers });
    const duration = new Histogram({ name: 'spindle_run_duration_seconds', help: 'How long runs took, by type and outcome.', labelNames: ['type', 'outcome'], buckets: DURATION_BUCKETS, registers });
    const wait = new Histogram({ name: 'spindle_task_wait_seconds', help: 'From due (fire time, retry time or run-now) to start, for every run, by type.', labelNames: ['type'], buckets: WAIT_BUCKETS, registers });
    const lag = new Histogram({ name: 'spindle_schedule_lag_seconds', help: 'From fire time to start, for the first run of each occurrence.', buckets: WAIT_BUCKETS, registers });
    const misfires = new Counter({ name: 'spindle_schedule_misfires_total', help: 'Fire times of recurring tasks that came due more than graceMs late, by type and misfire policy.', labelNames: ['type', 'policy'], registers });
    this.#rpc = new Counter({ name: 'spindle_rpc_requests_total', help: 'Requests answered, socket and HTTP API, by protocol method and code (OK or the error code).', labelNames: ['method', 'code'], registers });
    // Label objects kept per type: the hot path does not build one per run.
    const byType = new Map<string, { type: string }>();
    const byOutcome = new Map<string, { type: string; outcome: string }>();
    const typeLabels = (type: string): { type: string } => {
      let l = byType.get(type);
      if (l === undefined) byType.set(type, (l = { type }));
      return l;
    };
    this.observer = {
      runStarted(type, dueAt, startedAt, occurrence) {
        const seconds = Math.max(0, startedAt - dueAt) / 1000;
        wait.observe(typeLabels(type), seconds);
        if (occurrence) lag.observe(seconds);
      },
      runEnded(type, outcome, durationMs) {
        const key = `${type}\n${outcome}`;
        let l = byOutcome.get(key);
        if (l === undefined) byOutcome.set(key, (l = { type, outcome }));
        runs.inc(l);
        if (durationMs !== null) duration.observe(l, durationMs / 1000);
      },
      misfire(type, policy) {
        misfires.inc({ type, policy });
      },
    };
  }

  /** Counts one answered request (socket or HTTP API): `code` is OK or the error's code. */
  readonly rpc = (method: string, code: string): void => {
    this.#rpc.inc({ method, code });
  };

  /** The text Prometheus scrapes, and its content type. */
  async scrape(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
