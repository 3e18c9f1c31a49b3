import type { HistoryEntry, RunRecord, TaskRecord } from '../task/record.js';

/**
 * Stored values as JSON arrays in a fixed field order: about half the bytes of keyed objects, so
 * less to encode on the supervisor's thread and less for LevelDB to write. The first element is
 * the record version; the order below is the layout (changing it means a new STORE_LAYOUT). The
 * fields a task never changes come first, so their encoding is made once and reused.
 */

type Row = unknown[];

const historyRow = (h: HistoryEntry): Row => [h.from, h.to, h.event, h.at, h.reason];
const historyOf = (r: Row): HistoryEntry => ({ from: r[0], to: r[1], event: r[2], at: r[3], reason: r[4] } as HistoryEntry);

function runRow(run: RunRecord): Row {
  return [run.v, run.taskId, run.run, run.attempt, run.state, run.startedAt, run.endedAt, run.durationMs, run.worker, run.output, run.error, run.progress];
}

function runOf(r: Row): RunRecord {
  return {
    v: r[0], taskId: r[1], run: r[2], attempt: r[3], state: r[4], startedAt: r[5], endedAt: r[6],
    durationMs: r[7], worker: r[8], output: r[9], error: r[10], progress: r[11],
  } as RunRecord;
}

/** The fields fixed at submit, JSON-encoded once per task: large params are not encoded at every write. */
const fixedPrefixes = new WeakMap<object, string>();

function fixedPrefix(t: TaskRecord): string {
  const cacheable = typeof t.params === 'object' && t.params !== null;
  const cached = cacheable ? fixedPrefixes.get(t.params as object) : undefined;
  if (cached !== undefined) return cached;
  const json = JSON.stringify([t.v, t.id, t.type, t.params, t.schedule, t.recurring, t.priority, t.maxTries, t.timeoutMs, t.misfire, t.graceMs, t.key, t.createdAt]);
  const prefix = json.slice(0, -1);
  if (cacheable) fixedPrefixes.set(t.params as object, prefix);
  return prefix;
}

export function encodeTask(t: TaskRecord): string {
  const changing = JSON.stringify([
    t.state, t.reason, t.tries, t.runCount, t.occurrences, t.firedAt, t.interval, t.nextRunAt, t.paused, t.updatedAt, t.endedAt,
    t.expiresAt, t.lastRun === null ? null : runRow(t.lastRun), t.history.map(historyRow), t.historyChunks,
  ]);
  return `${fixedPrefix(t)},${changing.slice(1)}`;
}

export function decodeTask(text: string): TaskRecord {
  const r = JSON.parse(text) as Row;
  return {
    v: r[0], id: r[1], type: r[2], params: r[3], schedule: r[4], recurring: r[5], priority: r[6], maxTries: r[7], timeoutMs: r[8],
    misfire: r[9], graceMs: r[10], key: r[11], createdAt: r[12], state: r[13], reason: r[14], tries: r[15], runCount: r[16],
    occurrences: r[17], firedAt: r[18], interval: r[19], nextRunAt: r[20], paused: r[21], updatedAt: r[22], endedAt: r[23],
    expiresAt: r[24], lastRun: r[25] === null ? null : runOf(r[25] as Row), history: (r[26] as Row[]).map(historyOf), historyChunks: r[27],
  } as TaskRecord;
}

export const encodeRun = (run: RunRecord): string => JSON.stringify(runRow(run));
export const decodeRun = (text: string): RunRecord => runOf(JSON.parse(text) as Row);
export const encodeHistory = (entries: readonly HistoryEntry[]): string => JSON.stringify(entries.map(historyRow));
export const decodeHistory = (text: string): HistoryEntry[] => (JSON.parse(text) as Row[]).map(historyOf);
