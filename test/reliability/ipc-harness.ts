import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

/** Open file descriptors of this process (the runtime under test runs in it). */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** A raw connection that collects whole JSON lines and says when it closed. */
export class RawConnection {
  readonly socket: Socket;
  readonly messages: any[] = [];
  readonly closed: Promise<void>;
  #buffer = '';
  #waiters: Array<() => void> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      for (let nl = this.#buffer.indexOf('\n'); nl !== -1; nl = this.#buffer.indexOf('\n')) {
        this.messages.push(JSON.parse(this.#buffer.slice(0, nl)));
        this.#buffer = this.#buffer.slice(nl + 1);
      }
      for (const w of this.#waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => socket.once('close', () => {
      for (const w of this.#waiters.splice(0)) w();
      resolve();
    }));
  }

  /** Connects; a full accept queue (EAGAIN, when hundreds connect at once) is retried, as a real client would. */
  static async open(path: string): Promise<RawConnection> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await new Promise<RawConnection>((resolve, reject) => {
          const socket = connect(path);
          socket.once('connect', () => resolve(new RawConnection(socket)));
          socket.once('error', reject);
        });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || attempt === 100) throw err;
        await new Promise((r) => setTimeout(r, 10 + Math.random() * 40));
      }
    }
  }

  write(raw: string | Buffer): boolean {
    return this.socket.write(raw);
  }

  request(id: number | string, method: string, params?: unknown): Promise<any> {
    this.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) })}\n`);
    return this.next((m) => m.id === id);
  }

  /** The first message `pick` accepts, taken out of the inbox; rejects if the connection closes first. */
  async next(pick: (m: any) => boolean = () => true): Promise<any> {
    for (;;) {
      const i = this.messages.findIndex(pick);
      if (i !== -1) return this.messages.splice(i, 1)[0];
      if (this.socket.destroyed) throw new Error('the connection closed before the message came');
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Writes `total` bytes of `fill` with backpressure, stopping when the peer closes. Resolves with what was written. */
  async flood(total: number, fill = 'x'): Promise<number> {
    const chunk = Buffer.alloc(256 * 1024, fill);
    let sent = 0;
    while (sent < total && !this.socket.destroyed) {
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      if (!this.socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        await Promise.race([new Promise((r) => this.socket.once('drain', r)), this.closed]);
      }
    }
    return sent;
  }
}
