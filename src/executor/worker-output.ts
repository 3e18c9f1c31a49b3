import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';

/** What a line is tagged with besides its stream: the worker, and the run when it is known. */
export type LineTags = Record<string, unknown>;

/** Fields pino writes on every line; the runtime's logger writes its own. */
const PINO_OWN_FIELDS = ['level', 'time', 'pid', 'hostname', 'msg'] as const;
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/**
 * Sends each line a child writes on `stream` to the runtime's logger (relayLine). `onLine` sees
 * every line first, so the caller can look for what it needs (V8's out-of-memory report).
 */
export function forwardOutput(input: Readable, stream: 'stdout' | 'stderr', logger: Logger, tags: () => LineTags, onLine?: (line: string) => void): void {
  const lines = createInterface({ input, crlfDelay: Infinity });
  lines.on('line', (line) => {
    onLine?.(line);
    if (line.length > 0) relayLine(logger, stream, line, tags());
  });
}

/**
 * Writes a worker's line through the runtime's logger, so it comes out in the runtime's format.
 * A line the worker's pino wrote (a handler's ctx.log, or what it printed, tagged by the worker
 * with its run) keeps its level and fields, which win over `tags`; anything else (a native
 * library, a spawned program writing to the inherited descriptor) is logged as text, stdout at
 * info and stderr at warn. Fields go in one object, so no key is written twice.
 */
export function relayLine(logger: Logger, stream: 'stdout' | 'stderr', line: string, tags: LineTags): void {
  const record = line.startsWith('{') ? parsePinoLine(line) : null;
  if (record === null) {
    logger[stream === 'stderr' ? 'warn' : 'info']({ ...tags, stream }, line);
    return;
  }
  const label = logger.levels.labels[record.level];
  const method = LEVELS.find((l) => l === label) ?? 'info';
  logger[method]({ ...tags, ...record.fields }, record.msg);
}

function parsePinoLine(line: string): { level: number; msg: string | undefined; fields: Record<string, unknown> } | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const record = parsed as Record<string, unknown>;
  if (typeof record.level !== 'number' || typeof record.time !== 'number') return null;
  const fields = { ...record };
  for (const key of PINO_OWN_FIELDS) delete fields[key];
  return { level: record.level, msg: typeof record.msg === 'string' ? record.msg : undefined, fields };
}
