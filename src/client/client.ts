import type { EventFilter } from '../api/events.js';
import type { Method } from '../api/methods.js';
import type { PurgeFilter, PurgePreview, PurgeResult, Stats, TypeInfo } from '../api/runtime-api.js';
import { TERMINAL_STATES } from '../api/states.js';
import type { HistoryView, RunView, SubmittedView, TaskView } from '../api/views.js';
import { SpindleError } from '../errors.js';
import type { Schedule } from '../api/schedule-input.js';
import { Connection } from './connection.js';
import { EventStream } from './event-stream.js';
import { socketPathOf, type RuntimeAddress } from './socket-path.js';
import type { IsUntyped, ParamsField, TaskTypes, TypeName } from './task-map.js';

/** What `submit` takes (SPEC §6); durations are ms or strings like "30s". */
export interface SubmitOptions {
  type: string;
  params?: unknown;
  schedule?: Record<string, unknown>;
  priority?: number;
  maxTries?: number;
  timeout?: number | string;
  misfire?: 'coalesce' | 'skip' | 'all';
  graceMs?: number;
  key?: string;
  /** How long the task keeps `key` after it ends (default: the runtime's `keyRetention`). */
  keyRetention?: number | string;
}

/** A submit to a typed client: `type` is one of its task map's names and picks the params it takes. */
export type TypedSubmitOptions<Tasks extends TaskTypes> = {
  [N in keyof Tasks & string]: Omit<SubmitOptions, 'type' | 'params' | 'schedule'> & { type: N; schedule?: Schedule } & ParamsField<Tasks[N]['params']>;
}[keyof Tasks & string];

/** What `submit` takes: SubmitOptions on an untyped client, TypedSubmitOptions on a typed one. */
export type SubmitOptionsFor<Tasks extends TaskTypes> = IsUntyped<Tasks> extends true ? SubmitOptions : TypedSubmitOptions<Tasks>;

export type ClientOptions = RuntimeAddress & {
  /**
   * How long to keep trying to reach a runtime that went away before failing the calls that wait
   * for it (default 30 s; 0: fail them at once).
   */
  reconnectWindowMs?: number;
  /** Events each `events()` stream holds for a slow consumer before counting drops (default 10,000). */
  maxBufferedEvents?: number;
};

/** Ends `submitAndWait` keeps while it does not yet know its task's id (a busy type's, in one submit's round trip). */
const MAX_EARLY_ENDS = 10_000;
/** How often a wait reads its task again when no event came. */
const WAIT_RECHECK_MS = 10_000;

/**
 * The client proxy (SPEC §7): the runtime's methods over its Unix socket. It reconnects when the
 * runtime restarts; calls made meanwhile wait for it. A call already sent when the connection
 * dropped is sent again if it only reads, and otherwise fails with CONNECTION_LOST, because it may
 * or may not have taken effect (give submits a `key` to retry them safely).
 *
 * `Tasks` (optional, types only) is the task types the client may submit, usually a TaskMap of
 * the task modules: `Client.connect<TaskMap<typeof import('./tasks/email.js')>>()`. Then a wrong
 * type name, params or schedule key is a compile error. Without it any name and params compile.
 */
export class Client<Tasks extends TaskTypes = TaskTypes> {
  readonly socketPath: string;
  readonly #connection: Connection;
  readonly #maxBufferedEvents: number;

  private constructor(connection: Connection, options: ClientOptions) {
    this.socketPath = connection.socketPath;
    this.#connection = connection;
    this.#maxBufferedEvents = options.maxBufferedEvents ?? 10_000;
  }

  /** Whether the connection is up now (it may drop and come back; calls wait for it). */
  get connected(): boolean {
    return this.#connection.connected;
  }

  /** Connects once; fails at once with RUNTIME_UNREACHABLE when nothing answers. */
  static async connect<Tasks extends TaskTypes = TaskTypes>(options: ClientOptions = {}): Promise<Client<Tasks>> {
    const connection = new Connection(socketPathOf(options), options.reconnectWindowMs ?? 30_000);
    await connection.open();
    return new Client<Tasks>(connection, options);
  }

  submit(options: SubmitOptionsFor<Tasks>): Promise<SubmittedView> {
    return this.call('task.submit', { ...options });
  }

  /** Alias of `submit`. */
  enqueue(options: SubmitOptionsFor<Tasks>): Promise<SubmittedView> {
    return this.submit(options);
  }

  /** All stored in one atomic write, or none; answers the tasks in order. */
  submitMany(tasks: readonly SubmitOptionsFor<Tasks>[]): Promise<SubmittedView[]> {
    return this.call('task.submitMany', { tasks });
  }

  get(id: string): Promise<TaskView> {
    return this.call('task.get', { id });
  }

  /** Newest first; pass the answer's `cursor` back for the next page. */
  list(options: { state?: string; type?: TypeName<Tasks>; limit?: number; cursor?: string; paused?: boolean } = {}): Promise<{ tasks: TaskView[]; cursor: string | null }> {
    return this.call('task.list', { ...options });
  }

  /** Queued tasks in due order. */
  pending(options: { type?: TypeName<Tasks>; limit?: number } = {}): Promise<TaskView[]> {
    return this.call('task.pending', { ...options });
  }

  cancel(id: string): Promise<TaskView> {
    return this.call('task.cancel', { id });
  }

  /** Alias of `cancel`. */
  dequeue(id: string): Promise<TaskView> {
    return this.cancel(id);
  }

  pause(id: string): Promise<TaskView> {
    return this.call('task.pause', { id });
  }

  resume(id: string): Promise<TaskView> {
    return this.call('task.resume', { id });
  }

  runNow(id: string): Promise<TaskView> {
    return this.call('task.runNow', { id });
  }

  /** Queues a failed or terminated task again: fresh tries, due now, its runs and history kept. */
  retry(id: string): Promise<TaskView> {
    return this.call('task.retry', { id });
  }

  /** Deletes an ended task with its runs and history (INVALID_STATE while it is live). */
  delete(id: string): Promise<{ id: string; deleted: true }> {
    return this.call('task.delete', { id });
  }

  /**
   * Deletes the ended tasks a filter matches, in two steps: without `confirm` it answers the count
   * and a confirmation (good for a minute); with it, it deletes at most that many.
   */
  purge(request: PurgeFilter & { type?: TypeName<Tasks>; confirm?: string }): Promise<PurgePreview | PurgeResult> {
    return this.call('task.purge', { ...request });
  }

  /** A recurring task's new schedule (the forms `submit` takes), from its next occurrence on. */
  reschedule(id: string, schedule: Record<string, unknown>): Promise<TaskView> {
    return this.call('task.reschedule', { id, schedule });
  }

  /** Stops starting tasks of the type until `resumeType` (stored across restarts); runs in flight finish. */
  pauseType(type: TypeName<Tasks>): Promise<TypeInfo> {
    return this.call('type.pause', { type });
  }

  resumeType(type: TypeName<Tasks>): Promise<TypeInfo> {
    return this.call('type.resume', { type });
  }

  /** Its runs in order, up to the runtime's reply cap; pass the last run number as `after` for the rest. */
  runs(id: string, options: { after?: number } = {}): Promise<RunView[]> {
    return this.call('task.runs', { id, ...options });
  }

  /** Its transitions in order, up to the runtime's reply cap; pass how many you have as `after` for the rest. */
  history(id: string, options: { after?: number } = {}): Promise<HistoryView[]> {
    return this.call('task.history', { id, ...options });
  }

  types(): Promise<TypeInfo[]> {
    return this.call('type.list', {});
  }

  /** The next `count` fire times of a schedule strictly after `after` (default now), without submitting. */
  preview(schedule: Record<string, unknown>, options: { count: number; after?: string }): Promise<{ times: string[] }> {
    return this.call('schedule.preview', { schedule, ...options });
  }

  stats(): Promise<Stats> {
    return this.call('runtime.stats', {});
  }

  /**
   * Asks the runtime to stop gracefully. Resolves once it has agreed, or with `wait: true` once it
   * has stopped: its runs ended, its store closed and its socket gone.
   */
  async stop(options: { grace?: number | string; wait?: boolean } = {}): Promise<{ ok: true }> {
    const { wait, ...params } = options;
    const gone = wait === true ? this.#connection.disconnected() : null;
    const answer = await this.call<{ ok: true }>('runtime.stop', params);
    await gone;
    return answer;
  }

  /**
   * Resolves with the task once it reaches a terminal state; survives runtime restarts. A task kept
   * for no time (retention 0) may be gone once it ended: its terminal event carries it.
   */
  wait(id: string): Promise<TaskView> {
    return this.#wait(id, () => undefined, async () => undefined);
  }

  /**
   * Submits one task and resolves with it once it has ended, as `wait` does, and hears its end
   * even when that comes before the submit's answer (a task kept for no time is then gone): the
   * type's state changes are followed from before the submit until the wait follows the task.
   */
  async submitAndWait(options: SubmitOptionsFor<Tasks>): Promise<TaskView> {
    const ended = new Map<string, TaskView>();
    const unsubscribe = await this.#connection.subscribe({ type: options.type, types: ['task.state'] }, {
      push: (ev) => {
        if (ev.event === 'task.state' && ev.data.task !== undefined && ended.size < MAX_EARLY_ENDS) ended.set(ev.data.id, ev.data.task);
      },
      end: () => undefined,
    });
    let following = true;
    const stop = async (): Promise<void> => {
      if (!following) return;
      following = false;
      await unsubscribe();
    };
    try {
      const { id } = await this.submit(options);
      return await this.#wait(id, () => ended.get(id), stop);
    } finally {
      await stop();
    }
  }

  /** `earlier`: the task as it ended, if heard before the wait followed it; `following`: called once it does. */
  async #wait(id: string, earlier: () => TaskView | undefined, following: () => Promise<void>): Promise<TaskView> {
    let wake: { resolve: () => void; reject: (err: unknown) => void } | null = null;
    let woken = false;
    let failure: unknown = null;
    let ended: TaskView | undefined;
    const unsubscribe = await this.#connection.subscribe({ taskId: id, types: ['task.state'] }, {
      push: (ev) => {
        if (ev.event === 'events.gap' || (ev.event === 'task.state' && TERMINAL_STATES.has(ev.data.to))) {
          if (ev.event === 'task.state' && ev.data.task !== undefined) ended = ev.data.task;
          woken = true;
          wake?.resolve();
        }
      },
      end: (err) => {
        failure = err ?? new SpindleError('CLIENT_CLOSED', 'the client was closed while waiting');
        wake?.reject(failure);
      },
    });
    let recheck: ReturnType<typeof setTimeout> | undefined;
    try {
      await following();
      for (;;) {
        woken = false;
        const known = ended ?? earlier();
        if (known !== undefined) return known;
        let task: TaskView;
        try {
          task = await this.get(id);
        } catch (err) {
          // Gone as it ended, its end heard meanwhile.
          const late = ended ?? earlier();
          if (late !== undefined && err instanceof SpindleError && err.code === 'NOT_FOUND') return late;
          throw err;
        }
        if (TERMINAL_STATES.has(task.state)) return task;
        if (failure !== null) throw failure;
        // The task is read again now and then: a task kept for no time whose end no event brought
        // (another runtime ended it before it knew anyone listened) is then NOT_FOUND, not waited for forever.
        if (!woken) {
          await new Promise<void>((resolve, reject) => {
            wake = { resolve, reject };
            recheck = setTimeout(resolve, WAIT_RECHECK_MS);
          });
          clearTimeout(recheck);
        }
        wake = null;
      }
    } finally {
      clearTimeout(recheck);
      await unsubscribe();
    }
  }

  /**
   * Live events matching the filter, for `for await`. Leaving the loop unsubscribes. The stream
   * ends with an error when the runtime is gone for good; it yields `events.gap` after a reconnect
   * and `events.dropped` when the consumer fell too far behind.
   */
  events(filter: EventFilter = {}): EventStream {
    let unsubscribe: Promise<() => Promise<void>> | null = null;
    const stream = new EventStream(this.#maxBufferedEvents, async () => {
      if (unsubscribe !== null) await (await unsubscribe.catch(() => async () => undefined))();
    });
    unsubscribe = this.#connection.subscribe({ ...filter }, { push: (ev) => stream.push(ev), end: (err) => stream.fail(err) });
    stream.ready = unsubscribe.then(() => undefined, (err: unknown) => {
      stream.fail(err);
      throw err;
    });
    // A consumer that never awaits `ready` still gets the failure from next().
    stream.ready.catch(() => undefined);
    return stream;
  }

  /** Closes the connection; calls still waiting fail with CLIENT_CLOSED. Idempotent. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  /** Any protocol method by name, for methods without a typed wrapper. */
  call<T>(method: Method, params: Record<string, unknown>): Promise<T> {
    return this.#connection.call(method, params);
  }
}
