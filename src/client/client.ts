import { connect, type Socket } from 'node:net';
import type { EventFilter } from '../api/events.js';
import { LineReader } from '../api/line-reader.js';
import type { Method } from '../api/methods.js';
import type { PurgeFilter, PurgePreview, PurgeResult, Stats, TypeInfo } from '../api/runtime-api.js';
import { TERMINAL_STATES } from '../api/states.js';
import type { HistoryView, RunView, SubmittedView, TaskView } from '../api/views.js';
import { SpindleError, type ErrorCode } from '../errors.js';
import type { Schedule } from '../api/schedule-input.js';
import { type ClientEvent, EventStream } from './event-stream.js';
import { assertTrustedSocket, socketPathOf, type RuntimeAddress } from './socket-path.js';
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

interface Call {
  id: number;
  method: Method;
  line: string;
  /** Connections this call was sent on that dropped before answering it. */
  lost: number;
  resolve: (result: unknown) => void;
  reject: (err: unknown) => void;
}

interface LocalSubscription {
  params: Record<string, unknown>;
  push: (ev: ClientEvent) => void;
  end: (err: unknown) => void;
  serverId: string | null;
}

/** Calls that read or compute only: safe to send again after a lost connection. */
const REPEATABLE: ReadonlySet<Method> = new Set<Method>([
  'task.get', 'task.list', 'task.pending', 'task.runs', 'task.history', 'type.list', 'schedule.preview', 'runtime.stats',
  // A subscription dies with its connection, so asking again cannot double it.
  'events.subscribe',
]);

/**
 * A read whose connection dropped this many times while it waited is not sent again: a request
 * that itself brings the connection down (a reply the runtime cannot deliver) would otherwise be
 * resent for ever, each time costing the runtime the whole reply.
 */
const MAX_RESENDS = 3;
const RECONNECT_FIRST_DELAY_MS = 50;
const RECONNECT_MAX_DELAY_MS = 1000;
/** Answers can be large (a submitMany of 10,000 tasks); the client trusts its runtime's framing. */
const MAX_ANSWER_BYTES = 1024 * 1024 * 1024;
const ANSWER_TIMEOUT_MS = 2 ** 31 - 1;

type State = 'connected' | 'reconnecting' | 'down' | 'closed';

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
  readonly #reconnectWindowMs: number;
  readonly #maxBufferedEvents: number;
  #socket: Socket | null = null;
  #state: State = 'down';
  #nextId = 1;
  readonly #sent = new Map<number, Call>();
  #queued: Call[] = [];
  readonly #subs = new Set<LocalSubscription>();
  readonly #byServerId = new Map<string, LocalSubscription>();
  /** Subscriptions the lost connection held, to ask for again on the next one. */
  #restore: LocalSubscription[] = [];
  #disconnectWaiters: Array<() => void> = [];
  /** An error the runtime announced before closing the connection (e.g. TOO_MANY_CONNECTIONS). */
  #fault: SpindleError | null = null;
  #closed: Promise<void> | null = null;

  private constructor(socketPath: string, options: ClientOptions) {
    this.socketPath = socketPath;
    this.#reconnectWindowMs = options.reconnectWindowMs ?? 30_000;
    this.#maxBufferedEvents = options.maxBufferedEvents ?? 10_000;
  }

  /** Whether the connection is up now (it may drop and come back; calls wait for it). */
  get connected(): boolean {
    return this.#state === 'connected';
  }

  /** Connects once; fails at once with RUNTIME_UNREACHABLE when nothing answers. */
  static async connect<Tasks extends TaskTypes = TaskTypes>(options: ClientOptions = {}): Promise<Client<Tasks>> {
    const client = new Client<Tasks>(socketPathOf(options), options);
    await client.#open();
    return client;
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
    const gone = wait === true ? new Promise<void>((resolve) => this.#disconnectWaiters.push(resolve)) : null;
    const answer = await this.call<{ ok: true }>('runtime.stop', params);
    await gone;
    return answer;
  }

  /** Resolves with the task once it reaches a terminal state; survives runtime restarts. */
  async wait(id: string): Promise<TaskView> {
    let wake: { resolve: () => void; reject: (err: unknown) => void } | null = null;
    let woken = false;
    let failure: unknown = null;
    const unsubscribe = await this.#subscribe({ taskId: id, types: ['task.state'] }, {
      push: (ev) => {
        if (ev.event === 'events.gap' || (ev.event === 'task.state' && TERMINAL_STATES.has(ev.data.to))) {
          woken = true;
          wake?.resolve();
        }
      },
      end: (err) => {
        failure = err ?? new SpindleError('CLIENT_CLOSED', 'the client was closed while waiting');
        wake?.reject(failure);
      },
    });
    try {
      for (;;) {
        woken = false;
        const task = await this.get(id);
        if (TERMINAL_STATES.has(task.state)) return task;
        if (failure !== null) throw failure;
        if (!woken) await new Promise<void>((resolve, reject) => { wake = { resolve, reject }; });
        wake = null;
      }
    } finally {
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
    unsubscribe = this.#subscribe({ ...filter }, { push: (ev) => stream.push(ev), end: (err) => stream.fail(err) });
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
    this.#closed ??= (async () => {
      this.#state = 'closed';
      this.#failAll(new SpindleError('CLIENT_CLOSED', 'the client was closed'), null);
      const socket = this.#socket;
      this.#socket = null;
      if (socket !== null && !socket.destroyed) {
        await new Promise<void>((resolve) => {
          socket.once('close', () => resolve());
          socket.end();
        });
      }
    })();
    return this.#closed;
  }

  /** Any protocol method by name, for methods without a typed wrapper. */
  call<T>(method: Method, params: Record<string, unknown>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#state === 'closed') {
        reject(new SpindleError('CLIENT_CLOSED', 'the client was closed'));
        return;
      }
      const id = this.#nextId++;
      const call: Call = { id, method, line: `${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`, lost: 0, resolve: resolve as (r: unknown) => void, reject };
      if (this.#state === 'connected') this.#send(call);
      else {
        this.#queued.push(call);
        if (this.#state === 'down') void this.#reconnect(0);
      }
    });
  }

  async #subscribe(params: Record<string, unknown>, handlers: Pick<LocalSubscription, 'push' | 'end'>): Promise<() => Promise<void>> {
    const sub: LocalSubscription = { params, ...handlers, serverId: null };
    this.#subs.add(sub);
    try {
      const { subscription } = await this.call<{ subscription: string }>('events.subscribe', params);
      this.#adopt(sub, subscription);
    } catch (err) {
      this.#subs.delete(sub);
      throw err;
    }
    return async () => {
      if (!this.#subs.delete(sub)) return;
      const serverId = sub.serverId;
      if (serverId === null) return;
      this.#byServerId.delete(serverId);
      if (this.#state === 'connected') await this.call('events.unsubscribe', { subscription: serverId }).catch(() => undefined);
    };
  }

  #adopt(sub: LocalSubscription, serverId: string): void {
    if (!this.#subs.has(sub)) return;
    sub.serverId = serverId;
    this.#byServerId.set(serverId, sub);
  }

  #send(call: Call): void {
    this.#sent.set(call.id, call);
    this.#socket!.write(call.line);
  }

  #open(): Promise<void> {
    return new Promise((resolve, reject) => {
      assertTrustedSocket(this.socketPath);
      const socket = connect(this.socketPath);
      const onError = (err: NodeJS.ErrnoException): void => {
        socket.destroy();
        reject(unreachable(this.socketPath, err));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        if (this.#state === 'closed') {
          socket.destroy();
          reject(new SpindleError('CLIENT_CLOSED', 'the client was closed'));
          return;
        }
        socket.on('error', () => undefined);
        this.#socket = socket;
        this.#state = 'connected';
        this.#fault = null;
        const reader = new LineReader(socket, {
          maxFrameBytes: MAX_ANSWER_BYTES,
          frameTimeoutMs: ANSWER_TIMEOUT_MS,
          onLine: (line) => this.#onLine(line, socket),
          onFault: (_code, message) => this.#protocolError(socket, message),
        });
        socket.once('close', () => {
          reader.stop();
          this.#onDisconnect(socket);
        });
        resolve();
      });
    });
  }

  #onLine(line: string, socket: Socket): void {
    let msg: { id?: unknown; result?: unknown; error?: { message?: unknown; data?: { code?: unknown } }; method?: unknown; params?: { subscription?: unknown; event?: unknown; data?: unknown } };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      this.#protocolError(socket, 'the runtime sent a line that is not JSON');
      return;
    }
    if (msg.method === 'event') {
      const sub = this.#byServerId.get(String(msg.params?.subscription));
      sub?.push({ event: msg.params?.event, data: msg.params?.data } as ClientEvent);
      return;
    }
    const error = msg.error === undefined ? null : toError(msg.error);
    const call = typeof msg.id === 'number' ? this.#sent.get(msg.id) : undefined;
    if (call === undefined) {
      // An answer to no call of ours: the runtime is refusing the connection (or the whole frame).
      if (error !== null) this.#fault = error;
      return;
    }
    this.#sent.delete(call.id);
    if (error !== null && error.code === 'SHUTTING_DOWN' && REPEATABLE.has(call.method) && this.#reconnectWindowMs > 0) {
      // A runtime on its way down refused a read: ask again at the next connection, as for a read
      // its dropped connection lost (so wait() and restored subscriptions ride over a restart).
      this.#queued.push(call);
      return;
    }
    if (error !== null) call.reject(error);
    else call.resolve(msg.result);
  }

  #protocolError(socket: Socket, message: string): void {
    this.#fault = new SpindleError('BAD_RESPONSE', `${message}; is ${this.socketPath} a Spindle runtime's socket?`, { path: this.socketPath });
    socket.destroy();
  }

  #onDisconnect(socket: Socket): void {
    if (this.#socket !== socket) return;
    this.#socket = null;
    for (const resolve of this.#disconnectWaiters.splice(0)) resolve();
    this.#byServerId.clear();
    this.#restore = [...this.#subs].filter((sub) => sub.serverId !== null);
    for (const sub of this.#subs) sub.serverId = null;
    const lost = [...this.#sent.values()];
    this.#sent.clear();
    const fault = this.#fault;
    const repeat: Call[] = [];
    for (const call of lost) {
      call.lost++;
      if (fault === null && REPEATABLE.has(call.method) && call.lost <= MAX_RESENDS) repeat.push(call);
      else if (fault === null && REPEATABLE.has(call.method)) {
        call.reject(new SpindleError('CONNECTION_LOST', `the connection to ${this.socketPath} dropped ${call.lost} times while ${call.method} waited for its answer; check the runtime's log, then retry`, { method: call.method, attempts: call.lost }));
      } else {
        call.reject(fault ?? new SpindleError('CONNECTION_LOST', `the runtime at ${this.socketPath} went away before answering ${call.method}; it may or may not have taken effect`, { method: call.method }));
      }
    }
    this.#queued = [...repeat, ...this.#queued];
    if (this.#state === 'closed') return;
    if (fault !== null) {
      this.#state = 'down';
      this.#failAll(fault, fault);
      return;
    }
    this.#state = 'reconnecting';
    void this.#reconnect(this.#reconnectWindowMs);
  }

  /** Tries to reach the runtime again for `windowMs` (0: once), then restores subscriptions and flushes waiting calls. */
  async #reconnect(windowMs: number): Promise<void> {
    this.#state = 'reconnecting';
    const deadline = Date.now() + windowMs;
    let delay = RECONNECT_FIRST_DELAY_MS;
    for (;;) {
      try {
        await this.#open();
        break;
      } catch (err) {
        if (this.#isClosed()) return;
        if (Date.now() + delay > deadline) {
          this.#state = 'down';
          const gone = windowMs === 0 ? err : new SpindleError('RUNTIME_UNREACHABLE', `the runtime at ${this.socketPath} has been unreachable for ${Math.round(windowMs / 1000)} s — is \`spindle start\` running?`, { path: this.socketPath }, err);
          this.#failAll(gone, gone);
          return;
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, RECONNECT_MAX_DELAY_MS);
        if (this.#isClosed()) return;
      }
    }
    const at = new Date().toISOString();
    const restore = this.#restore;
    this.#restore = [];
    for (const sub of restore) {
      if (!this.#subs.has(sub)) continue;
      this.call<{ subscription: string }>('events.subscribe', sub.params).then(
        ({ subscription }) => this.#adopt(sub, subscription),
        (err: unknown) => sub.end(err),
      );
      sub.push({ event: 'events.gap', data: { reason: 'reconnected', at } });
    }
    const queued = this.#queued;
    this.#queued = [];
    for (const call of queued) this.#send(call);
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  /** Fails every waiting call with `err`, and ends every subscription with `subErr`. */
  #failAll(err: unknown, subErr: unknown): void {
    for (const call of [...this.#sent.values(), ...this.#queued]) call.reject(err);
    this.#sent.clear();
    this.#queued = [];
    for (const sub of this.#subs) sub.end(subErr);
    this.#subs.clear();
    this.#byServerId.clear();
  }
}

function toError(error: { message?: unknown; data?: { code?: unknown } }): SpindleError {
  const { code, ...details } = error.data ?? {};
  const message = typeof error.message === 'string' ? error.message : 'the runtime refused the call';
  return new SpindleError((typeof code === 'string' ? code : 'INTERNAL') as ErrorCode, message, details);
}

function unreachable(path: string, err: NodeJS.ErrnoException): SpindleError {
  const why = err.code === 'EACCES' ? `permission denied on ${path} (the socket is private to the user who started the runtime)`
    : err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? `cannot reach the runtime at ${path} — is \`spindle start\` running?`
    : `cannot reach the runtime at ${path}: ${err.message}`;
  return new SpindleError('RUNTIME_UNREACHABLE', why, { path }, err);
}
