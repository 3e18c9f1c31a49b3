import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { parseDuration } from '../duration.js';
import { invalidArgument, SpindleError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import { previewSchedule } from '../schedule/index.js';
import { EVENT_NAMES, type EventFilter, type EventName } from '../supervisor/events.js';
import type { ListOptions } from '../supervisor/supervisor.js';
import { LINE_READER_DEFAULTS, LineReader } from './line-reader.js';
import {
  errorResponse, eventNotification, isMethod, MAX_SUBMIT_MANY, type Method, methodNotFound, optionalNumber, optionalString,
  optionalStringArray, own, type Params, parseLine, requiredArray, requiredString, resultResponse, type RpcId,
} from './protocol.js';

export interface IpcServerOptions {
  socketPath: string;
  /** Longest line accepted, in bytes (default 1 MiB). */
  maxFrameBytes?: number;
  /** How long a started line may take to complete (default 10 s). */
  frameTimeoutMs?: number;
  /** Open connections served at once (default 256); more are refused with TOO_MANY_CONNECTIONS. */
  maxConnections?: number;
  /** Unsent bytes a connection may hold (default 8 MiB); past it the client is disconnected. */
  maxPendingWriteBytes?: number;
  log: Logger;
  /** Told of every request to a known method once answered: `code` is OK or the error's code (for metrics). */
  onRequest?: ((method: Method, code: string) => void) | undefined;
}

export const IPC_DEFAULTS = {
  ...LINE_READER_DEFAULTS,
  maxConnections: 256,
  maxPendingWriteBytes: 8 * 1024 * 1024,
  /** Requests one connection may have running; past it the server stops reading that socket. */
  maxInFlight: 1024,
} as const;

interface Context {
  runtime: Runtime;
  log: Logger;
  maxFrameBytes: number;
  frameTimeoutMs: number;
  maxPendingWriteBytes: number;
  onRequest: ((method: Method, code: string) => void) | undefined;
}

/**
 * The runtime's Unix socket (SPEC §6): each connection speaks newline-delimited JSON-RPC, each
 * request runs on its own so replies may come out of order, and nothing a client sends or fails to
 * read can crash the runtime or grow its memory without bound.
 */
export class IpcServer {
  readonly socketPath: string;
  readonly #server: Server;
  readonly #ino: number;
  readonly #conns = new Set<Connection>();
  #closed: Promise<void> | null = null;

  private constructor(socketPath: string, server: Server, ino: number) {
    this.socketPath = socketPath;
    this.#server = server;
    this.#ino = ino;
  }

  /** Errors: ALREADY_RUNNING (a live socket at the path), SOCKET_PATH_IN_USE (anything else there). */
  static async listen(runtime: Runtime, options: IpcServerOptions): Promise<IpcServer> {
    const path = options.socketPath;
    const ctx: Context = {
      runtime,
      log: options.log.child({ component: 'ipc' }),
      maxFrameBytes: options.maxFrameBytes ?? IPC_DEFAULTS.maxFrameBytes,
      frameTimeoutMs: options.frameTimeoutMs ?? IPC_DEFAULTS.frameTimeoutMs,
      maxPendingWriteBytes: options.maxPendingWriteBytes ?? IPC_DEFAULTS.maxPendingWriteBytes,
      onRequest: options.onRequest,
    };
    const maxConnections = options.maxConnections ?? IPC_DEFAULTS.maxConnections;
    await checkSocketPath(path);
    const server = createServer();
    await listenPrivately(server, path);
    const ipc = new IpcServer(path, server, lstatSync(path).ino);
    server.on('connection', (socket) => ipc.#accept(socket, ctx, maxConnections));
    server.on('error', (err) => ctx.log.error({ err }, 'ipc server error'));
    ctx.log.info({ socket: path }, 'ipc listening');
    return ipc;
  }

  /** Open connections. */
  get connections(): number {
    return this.#conns.size;
  }

  /** Stops accepting, drops every connection and removes the socket file. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      for (const conn of this.#conns) conn.destroy();
      await closed;
      // Only our own socket is removed: a file someone else put at the path is left alone.
      const st = lstatSync(this.socketPath, { throwIfNoEntry: false });
      if (st?.isSocket() && st.ino === this.#ino) unlinkSync(this.socketPath);
    })();
    return this.#closed;
  }

  #accept(socket: Socket, ctx: Context, maxConnections: number): void {
    socket.on('error', (err) => ctx.log.debug({ err }, 'ipc connection error'));
    if (this.#closed !== null) {
      socket.destroy();
      return;
    }
    if (this.#conns.size >= maxConnections) {
      ctx.log.warn({ maxConnections }, 'ipc connection refused: too many connections');
      const err = new SpindleError('TOO_MANY_CONNECTIONS', `the runtime serves at most ${maxConnections} connections; close idle clients and retry`, { limit: maxConnections });
      endWith(socket, `${JSON.stringify(errorResponse(null, err))}\n`, ctx.frameTimeoutMs);
      return;
    }
    const conn = new Connection(socket, ctx);
    this.#conns.add(conn);
    socket.on('close', () => {
      conn.destroy();
      this.#conns.delete(conn);
    });
  }
}

class Connection {
  readonly runtime: Runtime;
  readonly #socket: Socket;
  readonly #ctx: Context;
  readonly #reader: LineReader;
  readonly #subs = new Map<string, () => void>();
  #nextSub = 1;
  #open = true;
  #inFlight = 0;

  constructor(socket: Socket, ctx: Context) {
    this.runtime = ctx.runtime;
    this.#socket = socket;
    this.#ctx = ctx;
    this.#reader = new LineReader(socket, {
      maxFrameBytes: ctx.maxFrameBytes,
      frameTimeoutMs: ctx.frameTimeoutMs,
      onLine: (line) => void this.#handle(line),
      onFault: (code, message) => {
        ctx.log.warn({ code }, 'ipc connection closed on a bad frame');
        this.#closeWith(errorResponse(null, new SpindleError(code, message, code === 'FRAME_TOO_LARGE' ? { limit: ctx.maxFrameBytes } : { timeoutMs: ctx.frameTimeoutMs })));
      },
    });
  }

  /** Closes at once, unsent data and subscriptions included. Idempotent. */
  destroy(): void {
    this.#release();
    this.#socket.destroy();
  }

  subscribe(filter: EventFilter): { subscription: string } {
    const subscription = `s${this.#nextSub++}`;
    this.#subs.set(subscription, this.runtime.subscribe(filter, (ev) => this.#send(eventNotification(subscription, ev))));
    return { subscription };
  }

  unsubscribe(subscription: string): { ok: true } {
    const unsubscribe = this.#subs.get(subscription);
    if (unsubscribe === undefined) throw new SpindleError('NOT_FOUND', `no subscription "${subscription}" on this connection`, { field: 'subscription' });
    unsubscribe();
    this.#subs.delete(subscription);
    return { ok: true };
  }

  async #handle(line: string): Promise<void> {
    const parsed = parseLine(line);
    if (!parsed.ok) {
      this.#send(parsed.response);
      return;
    }
    const { method, params = {} } = parsed.request;
    const answer = Object.hasOwn(parsed.request, 'id');
    const id: RpcId = parsed.request.id ?? null;
    if (!isMethod(method)) {
      if (answer) this.#send(methodNotFound(id, method));
      return;
    }
    // Backpressure: a client pipelining requests faster than the runtime answers them waits in
    // its own socket buffer, not in the runtime's memory.
    if (++this.#inFlight === IPC_DEFAULTS.maxInFlight) this.#socket.pause();
    try {
      const result: unknown = await HANDLERS[method](this, params);
      this.#ctx.onRequest?.(method, 'OK');
      if (answer) this.#send(resultResponse(id, result));
    } catch (err) {
      this.#ctx.onRequest?.(method, err instanceof SpindleError ? err.code : 'INTERNAL');
      if (!(err instanceof SpindleError)) this.#ctx.log.error({ err, method }, 'ipc request failed');
      if (answer) this.#send(errorResponse(id, err));
    } finally {
      if (this.#inFlight-- === IPC_DEFAULTS.maxInFlight && this.#open) this.#socket.resume();
    }
  }

  /**
   * Writes one message. A client that lets unsent bytes pile past the cap (it does not read its
   * replies or events) is disconnected: the runtime's memory must not depend on a client reading.
   */
  #send(message: object): void {
    if (!this.#open) return;
    let line: string;
    try {
      line = `${JSON.stringify(message)}\n`;
    } catch (err) {
      this.#ctx.log.error({ err }, 'ipc reply not serialisable');
      line = `${JSON.stringify(errorResponse((message as { id?: RpcId }).id ?? null, err))}\n`;
    }
    this.#socket.write(line);
    if (this.#socket.writableLength > this.#ctx.maxPendingWriteBytes) {
      this.#ctx.log.warn({ pendingBytes: this.#socket.writableLength, limit: this.#ctx.maxPendingWriteBytes }, 'ipc client disconnected: it is not reading its replies');
      this.destroy();
    }
  }

  #closeWith(message: object): void {
    if (!this.#open) return;
    this.#release();
    // Stop reading: whatever the client still sends stays in the kernel, never in our memory.
    this.#socket.pause();
    endWith(this.#socket, `${JSON.stringify(message)}\n`, this.#ctx.frameTimeoutMs);
  }

  #release(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#reader.stop();
    for (const unsubscribe of this.#subs.values()) unsubscribe();
    this.#subs.clear();
  }
}

/** Sends a last line and closes; a client that will not take even that is cut off after `graceMs`. */
function endWith(socket: Socket, line: string, graceMs: number): void {
  const timer = setTimeout(() => socket.destroy(), graceMs);
  timer.unref();
  socket.end(line, () => {
    clearTimeout(timer);
    socket.destroy();
  });
}

type Handler = (conn: Connection, params: Params) => unknown;

const byId = (call: (runtime: Runtime, id: string) => Promise<unknown>): Handler => (c, p) => call(c.runtime, requiredString(p, 'id'));

/** Drops absent fields, so optional options stay absent rather than `undefined`. */
function present<T extends Record<string, unknown>>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

const HANDLERS: Record<Method, Handler> = {
  'task.submit': (c, p) => c.runtime.submit(p),
  'task.submitMany': (c, p) => c.runtime.submitMany(requiredArray(p, 'tasks', MAX_SUBMIT_MANY)),
  'task.get': byId((r, id) => r.get(id)),
  'task.list': (c, p) => c.runtime.list(present({
    state: optionalString(p, 'state') as ListOptions['state'] | undefined,
    type: optionalString(p, 'type'),
    limit: optionalNumber(p, 'limit'),
    cursor: optionalString(p, 'cursor'),
  })),
  'task.pending': (c, p) => c.runtime.pending(present({ type: optionalString(p, 'type'), limit: optionalNumber(p, 'limit') })),
  'task.cancel': byId((r, id) => r.cancel(id)),
  'task.pause': byId((r, id) => r.pause(id)),
  'task.resume': byId((r, id) => r.resume(id)),
  'task.runNow': byId((r, id) => r.runNow(id)),
  'task.runs': byId((r, id) => r.runs(id)),
  'task.history': byId((r, id) => r.history(id)),
  'type.list': (c) => c.runtime.types(),
  'schedule.preview': (c, p) => {
    const count = own(p, 'count');
    if (typeof count !== 'number') throw new SpindleError('BAD_REQUEST', 'count must be a number', { field: 'count' });
    const now = c.runtime.options.clock.now();
    const after = optionalString(p, 'after');
    const afterMs = after === undefined ? now : Date.parse(after);
    if (Number.isNaN(afterMs)) throw invalidArgument('after', 'must be an ISO-8601 instant such as "2026-01-01T00:00:00Z"');
    return { times: previewSchedule(own(p, 'schedule'), count, afterMs, now).map((t) => new Date(t).toISOString()) };
  },
  'runtime.stats': (c) => c.runtime.stats(),
  'runtime.stop': (c, p) => {
    const grace = own(p, 'grace');
    const graceMs = grace === undefined ? undefined : parseDuration(grace, 'grace');
    // setImmediate runs after this reply is written: the client hears "ok" before the stop begins.
    setImmediate(() => {
      c.runtime.stop(graceMs).catch((err: unknown) => c.runtime.log.error({ err }, 'runtime stop failed'));
    });
    return { ok: true };
  },
  'events.subscribe': (c, p) => {
    const types = optionalStringArray(p, 'types');
    const unknown = types?.filter((t) => !(EVENT_NAMES as readonly string[]).includes(t)) ?? [];
    if (unknown.length > 0) throw invalidArgument('types', `unknown event ${JSON.stringify(unknown[0])}; events are ${EVENT_NAMES.join(', ')}`);
    return c.subscribe(present({ types: types as EventName[] | undefined, taskId: optionalString(p, 'taskId'), type: optionalString(p, 'type') }));
  },
  'events.unsubscribe': (c, p) => c.unsubscribe(requiredString(p, 'subscription')),
};

/**
 * A stale socket (nobody answers) is removed; a live one or anything that is not a socket (a file,
 * a directory, a symlink: never followed nor unlinked) is refused.
 */
export async function checkSocketPath(path: string): Promise<void> {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st === undefined) return;
  if (!st.isSocket()) {
    throw new SpindleError('SOCKET_PATH_IN_USE', `${path} exists and is not a socket; move it away or use another data directory`, { path });
  }
  if (await answers(path)) {
    throw new SpindleError('ALREADY_RUNNING', `a runtime is already running on ${path}; stop it first (spindle stop)`, { path });
  }
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new SpindleError('SOCKET_PATH_IN_USE', `cannot remove the stale socket ${path}: ${(err as Error).message}`, { path }, err);
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => {
      probe.destroy();
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') resolve(false);
      else reject(new SpindleError('SOCKET_PATH_IN_USE', `cannot check the socket ${path}: ${err.message}`, { path }, err));
    });
  });
}

/**
 * Binds under umask 0o177 so the socket is 0600 from the moment it exists (bind happens inside
 * listen(), synchronously, so no other code runs under the tightened umask), then chmods to be sure.
 */
async function listenPrivately(server: Server, path: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(err.code === 'EADDRINUSE'
        ? new SpindleError('SOCKET_PATH_IN_USE', `${path} appeared while the runtime was starting; check for another runtime`, { path }, err)
        : err);
    };
    server.once('error', onError);
    const umask = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      process.umask(umask);
    }
  });
  chmodSync(path, 0o600);
}
