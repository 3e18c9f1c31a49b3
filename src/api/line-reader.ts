import type { OnReadOpts, Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';

export const LINE_READER_DEFAULTS = {
  maxFrameBytes: 1024 * 1024,
  frameTimeoutMs: 10_000,
} as const;

export interface LineReaderOptions {
  maxFrameBytes: number;
  frameTimeoutMs: number;
  onLine: (line: string) => void;
  /** Called once, after which the reader has stopped: the connection should be answered and closed. */
  onFault: (code: 'FRAME_TOO_LARGE' | 'FRAME_TIMEOUT', message: string) => void;
}

const NEWLINE = 0x0a;

/**
 * Newline framing over a socket. Lines are cut on the raw bytes (a 0x0A byte never occurs inside a
 * multi-byte UTF-8 sequence) and decoded per line, so a character split across chunks decodes whole
 * and the size limit counts bytes. Nothing past `maxFrameBytes` is ever held: the line is refused
 * as soon as it outgrows the limit, however much more the client sends.
 */
export class LineReader {
  readonly #socket: Socket | null;
  readonly #o: LineReaderOptions;
  readonly #decoder = new StringDecoder('utf8');
  #partial = '';
  #partialBytes = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #stopped = false;
  readonly #onData = (chunk: Buffer): void => this.push(chunk);

  /** Reads the socket's 'data' events; with null, it is given its bytes through push(). */
  constructor(socket: Socket | null, options: LineReaderOptions) {
    this.#socket = socket;
    this.#o = options;
    socket?.on('data', this.#onData);
  }

  /** Stops reading and clears the frame timer; idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#socket?.off('data', this.#onData);
    this.#clearTimer();
    this.#partial = '';
  }

  /**
   * Takes the next bytes of the stream. Everything is decoded before it returns (nothing keeps a
   * reference to `chunk`), so a caller may read into the same buffer again: see readInto().
   */
  push(chunk: Buffer): void {
    let start = 0;
    while (!this.#stopped) {
      const nl = chunk.indexOf(NEWLINE, start);
      const end = nl === -1 ? chunk.length : nl;
      if (this.#partialBytes + (end - start) > this.#o.maxFrameBytes) {
        this.#fault('FRAME_TOO_LARGE', `a line is longer than ${this.#o.maxFrameBytes} bytes; send smaller messages`);
        return;
      }
      if (nl === -1) {
        this.#append(chunk, start, end);
        if (this.#partialBytes > 0) this.#timer ??= setTimeout(() => this.#timedOut(), this.#o.frameTimeoutMs);
        return;
      }
      this.#append(chunk, start, end);
      // end() flushes any incomplete sequence as U+FFFD and resets the decoder for the next line.
      const line = this.#partial + this.#decoder.end();
      this.#partial = '';
      this.#partialBytes = 0;
      this.#clearTimer();
      start = nl + 1;
      if (line.trim() !== '') this.#o.onLine(line);
    }
  }

  #append(chunk: Buffer, start: number, end: number): void {
    if (end === start) return;
    this.#partial += this.#decoder.write(chunk.subarray(start, end));
    this.#partialBytes += end - start;
  }

  #timedOut(): void {
    this.#timer = null;
    this.#fault('FRAME_TIMEOUT', `a line was not completed within ${this.#o.frameTimeoutMs} ms; end each message with a newline`);
  }

  #fault(code: 'FRAME_TOO_LARGE' | 'FRAME_TIMEOUT', message: string): void {
    this.stop();
    this.#o.onFault(code, message);
  }

  #clearTimer(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }
}

/**
 * Bytes per read when a reader is fed from a buffer of its own (readInto). Socket reads are this
 * size anyway; one buffer kept for the connection spares the new one Node otherwise allocates for
 * every read and the collector frees (for a client taking 550 KB answers, about a tenth of its
 * CPU). Larger reads would decode into strings past V8's large-object size, which cost more.
 */
const READ_BUFFER_BYTES = 64 * 1024;

/** The `onread` option for `net.connect` that reads the socket straight into `reader`. */
export function readInto(reader: LineReader): OnReadOpts {
  const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  return {
    buffer,
    callback: (bytes) => {
      reader.push(buffer.subarray(0, bytes));
      return true;
    },
  };
}
