import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { SpindleError } from '../errors.js';
import type { EventFilter } from '../api/events.js';
import type { Method } from '../api/methods.js';
import { LineReader } from '../api/line-reader.js';
import type { RuntimeApi } from '../api/runtime-api.js';
import { IPC_DEFAULTS } from './limits.js';
import { HANDLERS, type MethodConnection, replyCost } from './methods.js';
import { errorResponse, eventNotification, isMethod, methodNotFound, parseLine, responseLine, resultResponse, type RpcId, type RpcResponse } from './protocol.js';
import { ReplyBudget } from './reply-budget.js';

export interface IpcServerOptions {
  socketPath: string;
  /** Longest line accepted, in bytes (default 1 MiB). */
  maxFrameBytes?: number;
  /** How long a started line may take to complete (default 10 s). */
  frameTimeoutMs?: number;
  /** Open connections served at once (default 256); more are refused with TOO_MANY_CONNECTIONS. */
  maxConnections?: number;
  /**
   * Unsent bytes a connection may hold (default 8 MiB). Requests wait for room for their replies;
   * a client that takes none of it for `writeTimeoutMs`, or whose unread events pass it, is
   * disconnected.
   */
  maxPendingWriteBytes?: number;
  /** How long a client may leave a full buffer untouched before it is taken as not reading (default 10 s). */
  writeTimeoutMs?: number;
  /** The most a list or pending page can take (default 4 MiB): the room such a request waits for. */
  maxReplyBytes?: number;
  /** The most one task's view can take (default 1 MiB): the room a request answering a task waits for. */
  maxTaskBytes?: number;
  log: Logger;
  /** Told of every request to a known method once answered: `code` is OK or the error's code (for metrics). */
  onRequest?: ((method: Method, code: string) => void) | undefined;
}

interface Context {
  runtime: RuntimeApi;
  log: Logger;
  maxFrameBytes: number;
  frameTimeoutMs: number;
  maxPendingWriteBytes: number;
  writeTimeoutMs: number;
  maxReplyBytes: number;
  maxTaskBytes: number;
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
  static async listen(runtime: RuntimeApi, options: IpcServerOptions): Promise<IpcServer> {
    const path = options.socketPath;
    const ctx: Context = {
      runtime,
      log: options.log.child({ component: 'ipc' }),
      maxFrameBytes: options.maxFrameBytes ?? IPC_DEFAULTS.maxFrameBytes,
      frameTimeoutMs: options.frameTimeoutMs ?? IPC_DEFAULTS.frameTimeoutMs,
      maxPendingWriteBytes: options.maxPendingWriteBytes ?? IPC_DEFAULTS.maxPendingWriteBytes,
      writeTimeoutMs: options.writeTimeoutMs ?? IPC_DEFAULTS.writeTimeoutMs,
      maxReplyBytes: options.maxReplyBytes ?? IPC_DEFAULTS.maxReplyBytes,
      maxTaskBytes: options.maxTaskBytes ?? IPC_DEFAULTS.maxTaskBytes,
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

class Connection implements MethodConnection {
  readonly runtime: RuntimeApi;
  readonly #socket: Socket;
  readonly #ctx: Context;
  readonly #reader: LineReader;
  readonly #budget: ReplyBudget;
  readonly #subs = new Map<string, () => void>();
  #nextSub = 1;
  #open = true;
  #inFlight = 0;

  constructor(socket: Socket, ctx: Context) {
    this.runtime = ctx.runtime;
    this.#socket = socket;
    this.#ctx = ctx;
    this.#budget = new ReplyBudget(socket, {
      maxPendingBytes: ctx.maxPendingWriteBytes,
      stallTimeoutMs: ctx.writeTimeoutMs,
      onStall: () => {
        ctx.log.warn({ pendingBytes: socket.writableLength, limit: ctx.maxPendingWriteBytes }, 'ipc client disconnected: it stopped reading its replies');
        this.destroy();
      },
    });
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
    this.#subs.set(subscription, this.runtime.subscribe(filter, (ev) => this.#push(eventNotification(subscription, ev))));
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
      this.#push(parsed.response);
      return;
    }
    const { method, params = {} } = parsed.request;
    const answer = Object.hasOwn(parsed.request, 'id');
    const id: RpcId = parsed.request.id ?? null;
    if (!isMethod(method)) {
      if (answer) this.#push(methodNotFound(id, method));
      return;
    }
    // Backpressure: a client pipelining requests faster than the runtime answers them waits in
    // its own socket buffer, not in the runtime's memory.
    if (++this.#inFlight === IPC_DEFAULTS.maxInFlight) this.#socket.pause();
    const cost = replyCost(method, line.length, this.#ctx);
    let reply: RpcResponse | null = null;
    try {
      // Runs only once its reply has room, so replies wait for a client that reads slowly rather
      // than piling up in memory or getting it disconnected.
      await this.#budget.reserve(cost);
      if (!this.#open) return;
      const result: unknown = await HANDLERS[method](this, params);
      this.#ctx.onRequest?.(method, 'OK');
      if (answer) reply = resultResponse(id, result);
    } catch (err) {
      this.#ctx.onRequest?.(method, err instanceof SpindleError ? err.code : 'INTERNAL');
      if (!(err instanceof SpindleError)) this.#ctx.log.error({ err, method }, 'ipc request failed');
      if (answer) reply = errorResponse(id, err);
    } finally {
      this.#budget.release(cost, reply === null ? 0 : this.#write(reply));
      if (this.#inFlight-- === IPC_DEFAULTS.maxInFlight && this.#open) this.#socket.resume();
    }
  }

  /** Writes an admitted reply; answers its length. */
  #write(message: RpcResponse): number {
    if (!this.#open) return 0;
    const pieces = encodeResponse(message, this.#ctx.log);
    if (pieces.length === 1) {
      this.#socket.write(pieces[0]!);
      return pieces[0]!.length;
    }
    // Corked, the pieces leave in one write, as the whole line would.
    this.#socket.cork();
    let length = 0;
    for (const piece of pieces) {
      this.#socket.write(piece);
      length += piece.length;
    }
    this.#socket.uncork();
    return length;
  }

  /**
   * Writes what no request reserved room for: an event, or the answer to a line that was no
   * request. A client that lets these pile past the cap is not reading: it is disconnected, since
   * the runtime's memory must not depend on a client reading.
   */
  #push(message: object): void {
    if (!this.#open) return;
    const line = serialise(message, this.#ctx.log);
    if (this.#socket.writableLength + line.length > this.#ctx.maxPendingWriteBytes) {
      this.#ctx.log.warn({ pendingBytes: this.#socket.writableLength, limit: this.#ctx.maxPendingWriteBytes }, 'ipc client disconnected: it is not reading its events');
      this.destroy();
      return;
    }
    this.#socket.write(line);
    this.#budget.wrote(line.length);
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
    this.#budget.close();
    for (const unsubscribe of this.#subs.values()) unsubscribe();
    this.#subs.clear();
  }
}

function encodeResponse(message: RpcResponse, log: Logger): string[] {
  try {
    return responseLine(message);
  } catch (err) {
    log.error({ err }, 'ipc reply not serialisable');
    return [`${JSON.stringify(errorResponse(message.id, err))}\n`];
  }
}

function serialise(message: object, log: Logger): string {
  try {
    return `${JSON.stringify(message)}\n`;
  } catch (err) {
    log.error({ err }, 'ipc reply not serialisable');
    return `${JSON.stringify(errorResponse((message as { id?: RpcId }).id ?? null, err))}\n`;
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
 * Connections the kernel queues for the runtime to accept (capped by net.core.somaxconn). Node's
 * default, 511, was overrun by a burst while the main thread was busy: the connects beyond it failed
 * at once with EAGAIN (a Unix socket does not make a client wait for room, as TCP does).
 */
const LISTEN_BACKLOG = 4096;

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
      server.listen({ path, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      process.umask(umask);
    }
  });
  chmodSync(path, 0o600);
}
