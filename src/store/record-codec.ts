import type { HistoryEntry, RunRecord, TaskRecord } from '../task/record.js';

/**
 * Stored values as JSON arrays in a fixed field order: about half the bytes of keyed objects, so
 * less to encode on the supervisor's thread and less for LevelDB to write. The first element is
 * the record version; the order below is the layout (changing it means a new STORE_LAYOUT).
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

export function encodeTask(t: TaskRecord): string {
  return JSON.stringify([
    t.v, t.id, t.type, t.params, t.state, t.reason, t.schedule, t.recurring, t.priority, t.maxTries, t.timeoutMs, t.misfire,
    t.graceMs, t.tries, t.runCount, t.occurrences, t.firedAt, t.interval, t.nextRunAt, t.paused, t.key, t.createdAt,
    t.updatedAt, t.endedAt, t.expiresAt, t.lastRun === null ? null : runRow(t.lastRun), t.history.map(historyRow), t.historyChunks,
  ]);
}

export function decodeTask(text: string): TaskRecord {
  const r = JSON.parse(text) as Row;
  return {
    v: r[0], id: r[1], type: r[2], params: r[3], state: r[4], reason: r[5], schedule: r[6], recurring: r[7], priority: r[8],
    maxTries: r[9], timeoutMs: r[10], misfire: r[11], graceMs: r[12], tries: r[13], runCount: r[14], occurrences: r[15],
    firedAt: r[16], interval: r[17], nextRunAt: r[18], paused: r[19], key: r[20], createdAt: r[21], updatedAt: r[22],
    endedAt: r[23], expiresAt: r[24], lastRun: r[25] === null ? null : runOf(r[25] as Row), history: (r[26] as Row[]).map(historyOf),
    historyChunks: r[27],
  } as TaskRecord;
}

export const encodeRun = (run: RunRecord): string => JSON.stringify(runRow(run));
export const decodeRun = (text: string): RunRecord => runOf(JSON.parse(text) as Row);
export const encodeHistory = (entries: readonly HistoryEntry[]): string => JSON.stringify(entries.map(historyRow));
export const decodeHistory = (text: string): HistoryEntry[] => (JSON.parse(text) as Row[]).map(historyOf);
