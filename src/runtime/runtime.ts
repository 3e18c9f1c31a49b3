import type { Logger } from 'pino';
import type { EventFilter, EventListener } from '../api/events.js';
import type { SearchOptions, SearchPage, TypeOverview } from '../api/dashboard-views.js';
import type { ListOptions, PurgeFilter, PurgePreview, PurgeResult, RuntimeApi, RuntimeStatus, Stats, TypeInfo } from '../api/runtime-api.js';
import type { SeriesView } from '../api/series.js';
import type { HistoryView, RunView, SubmittedView, TaskView } from '../api/views.js';
import { TERMINAL_STATES } from '../api/states.js';
import { SpindleError } from '../errors.js';
import { HttpServer } from '../http/http-server.js';
import { RuntimeMetrics } from '../http/metrics.js';
import { ensureToken } from '../http/token.js';
import { checkSocketPath, IpcServer } from '../ipc/server.js';
import { createLogger } from '../log.js';
import { DashboardQueries } from '../supervisor/dashboard-queries.js';
import { Supervisor } from '../supervisor/supervisor.js';
import type { Registry, TaskType } from '../task/registry.js';
import { loadRegistry } from '../task/registry.js';
import { prepareDataDir } from './data-dir.js';
import { createExecutorPools } from './executor-pools.js';
import { openStore, type RuntimeStore } from './open-store.js';
import type { ResolvedRuntimeOptions, RuntimeOptions } from './runtime-options.js';
import { resolveRuntimeOptions, RUNTIME_DEFAULTS } from './runtime-options.js';
import { StallFence } from './stall-fence.js';
import { typeInfo } from './type-info.js';
import type { TaskSource } from '../task/registry.js';

/**
 * The runtime: the composition root that wires the store, the task registry, the executors and
 * the supervisor. `spindle start` runs one; it is equally usable in-process.
 */
export class Runtime implements RuntimeApi {
  readonly options: ResolvedRuntimeOptions;
  readonly log: Logger;
  readonly registry: Registry;
  readonly #store: RuntimeStore;
  readonly #supervisor: Supervisor;
  readonly #dashboard: DashboardQueries;
  #status: RuntimeStatus = 'running';
  #stopped: Promise<void> | null = null;
  readonly #onStopped: Array<() => void> = [];
  #server: IpcServer | null = null;
  #http: HttpServer | null = null;
  /** Set once the store starts closing: from then on even reads answer SHUTTING_DOWN. */
  #storeClosing = false;
  #failure: SpindleError | null = null;
  /** With leases (PostgreSQL): kills the process when its main thread stalls past half a lease. */
  #fence: StallFence | null = null;

  private constructor(options: ResolvedRuntimeOptions, log: Logger, registry: Registry, store: RuntimeStore, supervisor: Supervisor) {
    this.options = options;
    this.log = log;
    this.registry = registry;
    this.#store = store;
    this.#supervisor = supervisor;
    this.#dashboard = new DashboardQueries({ reader: store.source.reader, registry, now: () => options.clock.now(), maxReplyBytes: options.maxReplyBytes });
  }

  static async start(input: RuntimeOptions = {}): Promise<Runtime> {
    const options = resolveRuntimeOptions(input);
    const log = options.logger ?? createLogger(options.logLevel, options.logFormat);
    prepareDataDir(options.data, options.socketPath);
    // Before the store is touched: a live runtime on this socket is refused, a stale socket cleared.
    if (options.socketPath !== null) await checkSocketPath(options.socketPath);
    const token = options.http === null ? null : ensureToken(options.data);
    const registry = await loadRegistry({ sources: options.tasks, logger: log });
    const { executors, executorFor } = createExecutorPools(options, registry, log);
    let runtime: Runtime | undefined;
    // Damage found at run time: serving on would answer errors forever, so the runtime stops.
    const onFatal = (err: SpindleError): void => {
      if (runtime !== undefined) void runtime.#fail(err);
    };
    const store = await openStore(options.store, { sync: options.sync, onFatal, clock: options.clock, log, windowSize: options.windowSize, leaseMs: options.leaseMs });
    let supervisor: Supervisor | undefined;
    let fence: StallFence | null = null;
    // Metrics only when served: without --http the supervisor has no observer to call.
    const metrics = options.http === null ? null : new RuntimeMetrics({ stats: () => supervisor!.stats(), typeNames: () => registry.types.keys() });
    try {
      // Before the executors start: their children read the heartbeat from their first check.
      if (options.store.kind === 'postgres') fence = new StallFence({ data: options.data, leaseMs: options.leaseMs, log });
      // In parallel: a process pool's children load while the thread pool's threads do.
      const started = await Promise.allSettled(executors.map((e) => e.start()));
      const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      supervisor = new Supervisor({
        source: store.source,
        registry,
        executorFor,
        executors,
        clock: options.clock,
        log,
        retentionMs: options.retentionMs,
        keyRetentionMs: options.keyRetentionMs,
        sweepIntervalMs: RUNTIME_DEFAULTS.sweepIntervalMs,
        sweepBatch: RUNTIME_DEFAULTS.sweepBatch,
        maxParamsBytes: options.maxParamsBytes,
        maxOutputBytes: options.maxOutputBytes,
        maxReplyBytes: options.maxReplyBytes,
        random: Math.random,
        observer: metrics?.observer,
      });
      await supervisor.start();
      // Damage met while recovering (before there was a runtime to stop) fails the start.
      if (store.failure !== null) throw store.failure;
      runtime = new Runtime(options, log, registry, store, supervisor);
      runtime.#fence = fence;
    } catch (err) {
      // A supervisor that started holds timers (a page read retried): stopped, or start hangs.
      await supervisor?.stop(0);
      await Promise.allSettled(executors.map((e) => e.close(0)));
      await store.close();
      await fence?.close();
      throw err;
    }
    // HTTP before the socket: once the socket answers, <data>/http.json is there to read.
    if (options.http !== null && metrics !== null && token !== null) {
      try {
        runtime.#http = await HttpServer.listen(runtime, {
          ...options.http,
          token,
          maxBodyBytes: options.maxFrameBytes,
          maxConnections: options.maxConnections,
          dataDir: options.data,
          metrics,
          log,
        });
      } catch (err) {
        await runtime.stop(0);
        throw err;
      }
    }
    if (options.socketPath !== null) {
      try {
        runtime.#server = await IpcServer.listen(runtime, {
          socketPath: options.socketPath,
          maxFrameBytes: options.maxFrameBytes,
          maxConnections: options.maxConnections,
          maxPendingWriteBytes: options.maxPendingWriteBytes,
          maxReplyBytes: options.maxReplyBytes,
          // About the largest task view: its params, its output and a capped error beside them.
          maxTaskBytes: options.maxParamsBytes + options.maxOutputBytes + 32 * 1024,
          log,
          onRequest: metrics?.rpc,
        });
      } catch (err) {
        await runtime.stop(0);
        throw err;
      }
    }
    const pools = executors.map((e) => ({ mode: e.mode, size: e.capacity }));
    const http = runtime.#http?.address.url ?? null;
    // The fields for a log reader; the message alone for someone watching a terminal.
    const shape = pools.map((p) => `${p.size} ${p.mode === 'threads' ? 'thread' : 'process'}${p.size === 1 ? '' : p.mode === 'threads' ? 's' : 'es'}`).join(' + ');
    const where = [options.socketPath === null ? null : `socket ${options.socketPath}`, http === null ? null : `http ${http}`].filter((w) => w !== null);
    log.info(
      { data: options.data, tasks: tasksField(options.tasks), socket: options.socketPath, http, mode: options.mode, workers: options.workers, pools, types: [...registry.types.keys()] },
      `spindle runtime started: ${registry.types.size} task type${registry.types.size === 1 ? '' : 's'} on ${shape}${where.length === 0 ? '' : `, ${where.join(', ')}`}`,
    );
    return runtime;
  }

  get status(): RuntimeStatus {
    return this.#status;
  }

  /** Why the runtime stopped by itself (the store failed for good), or null. */
  get failure(): SpindleError | null {
    return this.#failure;
  }

  #fail(err: SpindleError): Promise<void> {
    if (this.#failure === null) {
      this.#failure = err;
      this.log.fatal({ err, code: err.code, path: err.details.path }, `stopping: ${err.message}`);
    }
    return this.stop();
  }

  /** The HTTP server (`http` option), or null when there is none. */
  get http(): HttpServer | null {
    return this.#http;
  }

  submit(input: unknown): Promise<SubmittedView> {
    return this.#supervisor.submit(input);
  }

  /** Submits all or none, in one atomic write. */
  submitMany(inputs: readonly unknown[]): Promise<SubmittedView[]> {
    if (!Array.isArray(inputs)) return Promise.reject(new SpindleError('BAD_REQUEST', 'tasks must be an array of submit options', { field: 'tasks' }));
    return this.#supervisor.submitMany(inputs);
  }

  get(id: string): Promise<TaskView> {
    return this.#read(() => this.#supervisor.get(id));
  }

  list(options?: ListOptions): Promise<{ tasks: TaskView[]; cursor: string | null }> {
    return this.#read(() => this.#supervisor.list(options));
  }

  pending(options?: { type?: string; limit?: number }): Promise<TaskView[]> {
    return this.#read(() => this.#supervisor.pending(options));
  }

  cancel(id: string): Promise<TaskView> {
    return this.#supervisor.cancel(id);
  }

  pause(id: string): Promise<TaskView> {
    return this.#supervisor.pause(id);
  }

  resume(id: string): Promise<TaskView> {
    return this.#supervisor.resume(id);
  }

  runNow(id: string): Promise<TaskView> {
    return this.#supervisor.runNow(id);
  }

  /** Queues a failed or terminated task again: fresh tries, due now, its history kept. */
  retry(id: string): Promise<TaskView> {
    return this.#supervisor.retry(id);
  }

  /** Deletes an ended task with its runs and history (INVALID_STATE for a live one). */
  delete(id: string): Promise<{ id: string; deleted: true }> {
    return this.#supervisor.delete(id);
  }

  /** Without `confirm`: how many ended tasks the filter matches, and a token; with it: deletes them. */
  purge(request: PurgeFilter & { confirm?: string }): Promise<PurgePreview | PurgeResult> {
    return this.#supervisor.purge(request);
  }

  /** A recurring task's new schedule, from its next occurrence on (a run in flight finishes). */
  reschedule(id: string, schedule: unknown): Promise<TaskView> {
    return this.#supervisor.reschedule(id, schedule);
  }

  /** Stops starting tasks of the type until resumed (stored: a restart keeps it); runs in flight finish. */
  async pauseType(type: string): Promise<TypeInfo> {
    return this.#typeInfo(await this.#supervisor.setTypePaused(type, true));
  }

  async resumeType(type: string): Promise<TypeInfo> {
    return this.#typeInfo(await this.#supervisor.setTypePaused(type, false));
  }

  #typeInfo(name: string): TypeInfo {
    return typeInfo(this.registry.types.get(name)!, { paused: this.#supervisor.pausedTypes().has(name) });
  }

  /** A task's runs in order; a long history comes in parts: pass the last run number as `after`. */
  runs(id: string, after?: number): Promise<RunView[]> {
    return this.#read(() => this.#supervisor.runs(id, after));
  }

  /** A task's transitions in order; a long history comes in parts: pass how many you have as `after`. */
  history(id: string, after?: number): Promise<HistoryView[]> {
    return this.#read(() => this.#supervisor.history(id, after));
  }

  stats(): Stats {
    return this.#supervisor.stats();
  }

  types(): TypeInfo[] {
    const paused = this.#supervisor.pausedTypes();
    return [...this.registry.types.values()].map((t: TaskType) => typeInfo(t, { paused: paused.has(t.name) }));
  }

  overview(): Promise<TypeOverview[]> {
    return this.#read(() => this.#dashboard.overview());
  }

  series(options: { type?: string; range?: string }): Promise<SeriesView> {
    return this.#read(() => this.#dashboard.series(options));
  }

  search(options: SearchOptions): Promise<SearchPage> {
    return this.#read(() => this.#dashboard.search(options));
  }

  /** Listens to events (SPEC §6); returns the function that stops listening. */
  subscribe(filter: EventFilter, listener: EventListener): () => void {
    return this.#supervisor.subscribe(filter, listener);
  }

  /**
   * Resolves with the task once it is finished, failed or terminated, like `Client.wait`; rejects
   * with NOT_FOUND for an unknown id, and with SHUTTING_DOWN if the runtime stops first. It
   * listens before it looks, so an end between the two is not missed.
   */
  wait(id: string): Promise<TaskView> {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (end: () => void): void => {
        if (done) return;
        done = true;
        unsubscribe();
        const at = this.#onStopped.indexOf(onStopped);
        if (at !== -1) this.#onStopped.splice(at, 1);
        end();
      };
      const look = (): void => {
        this.get(id).then(
          (task) => { if (TERMINAL_STATES.has(task.state)) finish(() => resolve(task)); },
          (err: unknown) => finish(() => reject(err)),
        );
      };
      const onStopped = (): void => finish(() => reject(new SpindleError('SHUTTING_DOWN', `the runtime stopped before task ${JSON.stringify(String(id).slice(0, 64))} ended`)));
      const unsubscribe = this.subscribe({ taskId: id, types: ['task.state'] }, (ev) => {
        if (ev.event === 'task.state' && TERMINAL_STATES.has(ev.data.to)) look();
      });
      if (this.#status === 'stopped') onStopped();
      else this.#onStopped.push(onStopped);
      look();
    });
  }

  #read<T>(read: () => Promise<T>): Promise<T> {
    if (this.#storeClosing) return Promise.reject(new SpindleError('SHUTTING_DOWN', 'the runtime is shutting down; retry once it is back'));
    return read();
  }

  /** Resolves once the runtime has stopped, whoever asked it to (a signal, `runtime.stop` over the socket). */
  whenStopped(): Promise<void> {
    if (this.#status === 'stopped') return Promise.resolve();
    return new Promise((resolve) => this.#onStopped.push(resolve));
  }

  /** Graceful stop (SPEC §5). Idempotent; `graceMs` defaults to the runtime's grace option. */
  stop(graceMs = this.options.graceMs): Promise<void> {
    if (this.#stopped === null) {
      this.#status = 'stopping';
      this.#stopped = (async () => {
        const failures: unknown[] = [];
        // The socket and the HTTP server stay up while runs wind down, so clients hear
        // SHUTTING_DOWN rather than a refused connection; they go (files included) only once
        // the store is closed.
        const steps = [
          () => this.#supervisor.stop(graceMs),
          () => {
            this.#storeClosing = true;
            return this.#store.close();
          },
          () => this.#server?.close(),
          () => this.#http?.close(),
          // Last: the process workers read its beats until the executors have closed.
          () => this.#fence?.close(),
        ];
        for (const step of steps) {
          try {
            await step();
          } catch (err) {
            failures.push(err);
          }
        }
        this.#status = 'stopped';
        for (const listener of this.#onStopped.splice(0)) listener();
        if (failures.length > 0) this.log.error({ failures }, 'runtime stopped with errors');
        else this.log.info('spindle runtime stopped');
      })();
    }
    return this.#stopped;
  }
}

/** The start-up line's `tasks`: the folder, as `--tasks` gave it; for a list, each item's path (a definition's with its name). */
function tasksField(sources: readonly TaskSource[]): string | string[] {
  const [only] = sources;
  if (sources.length === 1 && only?.kind === 'folder') return only.path;
  return sources.map((s) => (s.kind === 'definition' ? `${String((s.definition as { name?: unknown }).name)} (${s.module})` : s.path));
}
