/**
 * A worker's stdout and stderr, turned into log lines tagged with the run that wrote them. A
 * handler's console.log or process.stdout.write becomes a line of the worker's logger with the
 * run's taskId, type, attempt and worker and the stream it came from (stdout at info, stderr at
 * warn), so the runtime's logger gets it whole and writes it in its own format. The run is found
 * through AsyncLocalStorage: with several runs in one worker, each line still names its own, and
 * so does a line written later from a timer or callback the handler started.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'pino';

/** The fields a run's lines carry. */
export type RunFields = Readonly<Record<string, unknown>>;

interface Writer {
  readonly fields: RunFields;
  /** What was written without a newline yet, per stream. */
  stdout: string;
  stderr: string;
}

/** Longer than this without a newline, a partial line is logged as it is (memory stays bounded). */
const MAX_PARTIAL_LINE = 64 * 1024;

const current = new AsyncLocalStorage<Writer>();

/**
 * Replaces `process.stdout.write` and `process.stderr.write` for the rest of the worker's life.
 * The logger must write elsewhere (a file descriptor, a port), never to process.stdout. Output
 * outside any run (a module's top level, say) is tagged with `outside` only.
 */
export function captureOutput(logger: Logger, outside: RunFields): void {
  const idle: Writer = { fields: outside, stdout: '', stderr: '' };
  for (const stream of ['stdout', 'stderr'] as const) {
    const target = process[stream];
    target.write = ((chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
      const writer = current.getStore() ?? idle;
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
      const lines = (writer[stream] + text).split('\n');
      writer[stream] = lines.pop()!;
      for (const line of lines) emit(logger, writer.fields, stream, line);
      if (writer[stream].length > MAX_PARTIAL_LINE) {
        emit(logger, writer.fields, stream, writer[stream]);
        writer[stream] = '';
      }
      const done = typeof encoding === 'function' ? encoding : callback;
      if (typeof done === 'function') queueMicrotask(() => (done as (err?: Error | null) => void)(null));
      return true;
    }) as typeof target.write;
  }
}

/**
 * Where one run's output goes: `run` calls the handler with what it prints tagged with `fields`,
 * `end` logs what it left without a newline once it has settled. Two calls rather than one async
 * wrapper: with AsyncLocalStorage on, every promise and await costs the worker's thread its hooks,
 * and a wrapper would add its own to every run.
 */
export class RunOutput {
  readonly #writer: Writer;

  constructor(fields: RunFields) {
    this.#writer = { fields, stdout: '', stderr: '' };
  }

  /** Calls `fn` with its output, and that of whatever it starts, tagged with this run. */
  run<T>(fn: () => T): T {
    return current.run(this.#writer, fn);
  }

  /** The run settled: logs what it left without a newline. */
  end(logger: Logger): void {
    const writer = this.#writer;
    // Stream by stream, not a loop over a list of them: this runs for every run.
    if (writer.stdout !== '') emit(logger, writer.fields, 'stdout', writer.stdout);
    if (writer.stderr !== '') emit(logger, writer.fields, 'stderr', writer.stderr);
    writer.stdout = '';
    writer.stderr = '';
  }
}

function emit(logger: Logger, fields: RunFields, stream: 'stdout' | 'stderr', line: string): void {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (text === '') return;
  logger[stream === 'stderr' ? 'warn' : 'info']({ ...fields, stream }, text);
}
