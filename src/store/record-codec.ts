import type { HistoryEntry, RunRecord, TaskRecord } from '../task/record.js';

/**
 * Stored values as JSON arrays in a fixed field order: about half the bytes of keyed objects, so
 * less to encode on the supervisor's thread and less for LevelDB to write. The first element is
 * the record version; the order below is the layout (changing it means a new STORE_LAYOUT). The
 * fields a task never changes come first, so their encoding is made once and reused.
 */

type Row = unknown[];

const historyOf = (r: Row): HistoryEntry => ({ from: r[0], to: r[1], event: r[2], at: r[3], reason: r[4] } as HistoryEntry);

function runOf(r: Row): RunRecord {
  return {
    v: r[0], taskId: r[1], run: r[2], attempt: r[3], state: r[4], startedAt: r[5], endedAt: r[6],
    durationMs: r[7], worker: r[8], output: r[9], error: r[10], progress: r[11],
  } as RunRecord;
}

/**
 * The fields fixed at submit, JSON-encoded once per task: neither large params nor the rest is
 * encoded again at every write. Keyed by the schedule object, which every task holds for as long
 * as it is in memory (copies of a record share it); the id guards against two tasks given one
 * schedule object by an in-process caller.
 */
const fixedPrefixes = new WeakMap<object, { id: string; prefix: string }>();

function fixedPrefix(t: TaskRecord): string {
  const owner = typeof t.schedule === 'object' && t.schedule !== null ? t.schedule : null;
  const cached = owner === null ? undefined : fixedPrefixes.get(owner);
  if (cached !== undefined && cached.id === t.id) return cached.prefix;
  const prefix = `[${t.v},${JSON.stringify(t.id)},${JSON.stringify(t.type)},${JSON.stringify(t.params) ?? 'null'},${JSON.stringify(t.schedule) ?? 'null'},`
    + `${t.recurring},${num(t.priority)},${num(t.maxTries)},${num(t.timeoutMs)},"${t.misfire}",${num(t.graceMs)},`
    + `${t.key === null ? 'null' : JSON.stringify(t.key)},${num(t.createdAt)}`;
  if (owner !== null) fixedPrefixes.set(owner, { id: t.id, prefix });
  return prefix;
}

const historyJson = (h: HistoryEntry): string => `["${h.from}","${h.to}","${h.event}",${num(h.at)},${word(h.reason)}]`;

/**
 * The changing fields are written out by hand: JSON.stringify of a small array costs several
 * times more than this on the supervisor's hottest path (measured: ~3 µs against ~0.5 µs).
 * Strings that are not from a fixed vocabulary (ids, worker names, outputs, errors) still go
 * through JSON.stringify.
 */
export function encodeTask(t: TaskRecord): string {
  return `${fixedPrefix(t)},"${t.state}",${word(t.reason)},${t.tries},${t.runCount},${t.occurrences},${num(t.firedAt)},${num(t.interval)},`
    + `${num(t.nextRunAt)},${t.paused},${num(t.updatedAt)},${num(t.endedAt)},${num(t.expiresAt)},`
    + `${t.lastRun === null ? 'null' : runJson(t.lastRun)},[${t.history.map(historyJson).join(',')}],${t.historyChunks}]`;
}

/** A number as JSON.stringify writes it (null for what JSON cannot hold). */
const num = (n: number | null): string => (n !== null && Number.isFinite(n) ? String(n) : 'null');
/** A state, reason or other word of a fixed vocabulary: nothing to escape. */
const word = (w: string | null): string => (w === null ? 'null' : `"${w}"`);

function runJson(r: RunRecord): string {
  return `[${r.v},${JSON.stringify(r.taskId)},${r.run},${r.attempt},"${r.state}",${num(r.startedAt)},${num(r.endedAt)},${num(r.durationMs)},`
    + `${r.worker === null ? 'null' : JSON.stringify(r.worker)},${r.output === null ? 'null' : JSON.stringify(r.output)},`
    + `${r.error === null ? 'null' : JSON.stringify(r.error)},${num(r.progress)}]`;
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

export const encodeRun = runJson;
export const decodeRun = (text: string): RunRecord => runOf(JSON.parse(text) as Row);
export const encodeHistory = (entries: readonly HistoryEntry[]): string => `[${entries.map(historyJson).join(',')}]`;
export const decodeHistory = (text: string): HistoryEntry[] => (JSON.parse(text) as Row[]).map(historyOf);
