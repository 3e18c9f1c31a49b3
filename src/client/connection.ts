import { connect, type Socket } from 'node:net';
import { LineReader, readInto } from '../api/line-reader.js';
import type { Method } from '../api/methods.js';
import { SpindleError, type ErrorCode } from '../errors.js';
import type { ClientEvent } from './event-stream.js';
import { assertTrustedSocket } from './socket-path.js';

interface Call {
  id: number;
  method: Method;
  line: string;
  /** Connections this call was sent on that dropped before answering it. */
  lost: number;
  resolve: (result: unknown) => void;
  reject: (err: unknown) => void;
}

/** Where a subscription's events go, and how it learns that it ended for good. */
export interface SubscriptionHandlers {
  push: (ev: ClientEvent) => void;
  end: (err: unknown) => void;
}

interface LocalSubscription extends SubscriptionHandlers {
  params: Record<string, unknown>;
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
 * The client's link to a runtime's socket: JSON-RPC calls matched to their answers by id, and
 * event subscriptions. It reconnects when the runtime restarts; calls made meanwhile wait for it.
 * A call already sent when the connection dropped is sent again if it only reads, and otherwise
 * fails with CONNECTION_LOST, because it may or may not have taken effect. Subscriptions are asked
 * for again on the new connection, with an `events.gap` to say what was missed.
 */
export class Connection {
  readonly socketPath: string;
  readonly #reconnectWindowMs: number;
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

  /** `reconnectWindowMs`: how long to keep trying to reach a runtime that went away (0: fail at once). */
  constructor(socketPath: string, reconnectWindowMs: number) {
    this.socketPath = socketPath;
    this.#reconnectWindowMs = reconnectWindowMs;
  }

  /** Whether the connection is up now (it may drop and come back; calls wait for it). */
  get connected(): boolean {
    return this.#state === 'connected';
  }

  /** Connects once; fails with RUNTIME_UNREACHABLE when nothing answers. */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      assertTrustedSocket(this.socketPath);
      // Made before the socket, which reads into it from the start (so no line is called before
      // `socket` below is set).
      const reader = new LineReader(null, {
        maxFrameBytes: MAX_ANSWER_BYTES,
        frameTimeoutMs: ANSWER_TIMEOUT_MS,
        onLine: (line) => this.#onLine(line, socket),
        onFault: (_code, message) => this.#protocolError(socket, message),
      });
      const socket = connect({ path: this.socketPath, onread: readInto(reader) });
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
        socket.once('close', () => {
          reader.stop();
          this.#onDisconnect(socket);
        });
        resolve();
      });
    });
  }

  /** Resolves when the current connection drops (registered before the call that brings it down). */
  disconnected(): Promise<void> {
    return new Promise<void>((resolve) => this.#disconnectWaiters.push(resolve));
  }

  /** Fails every waiting call with CLIENT_CLOSED and closes the socket. Idempotent. */
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

  /** Subscribes once the runtime confirms; answers the function that unsubscribes. */
  async subscribe(params: Record<string, unknown>, handlers: SubscriptionHandlers): Promise<() => Promise<void>> {
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
        await this.open();
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
