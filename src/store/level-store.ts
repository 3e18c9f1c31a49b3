import { mkdirSync, statSync } from 'node:fs';
import { Level } from 'level';
import { SpindleError } from '../errors.js';
import type { HistoryEntry, RunRecord, TaskRecord } from '../task/record.js';
import type { TaskState } from '../task/state.js';
import { TASK_STATES } from '../task/state.js';
import {
  counterKey, dueKey, dueOf, expiryKey, heldKeyOf, historyKey, idOf, indexKeys, keyExpiryKey, keyExpiryUpTo, keyKey, META_KEY, parseDueKey, runKey,
  STORE_LAYOUT, taskKey, typeStateKey, typeStatePrefix,
} from './keys.js';
import { decodeHistory, decodeRun, decodeTask, RecordWriter } from './record-codec.js';
import type { ChangeSet, DueEntry, ListQuery, StateCounts, TaskStore } from './store.js';

type Batch = ReturnType<Level<string, Uint8Array>['batch']>;

/**
 * Values are written as bytes (see RecordWriter) and read as text. Bytes are the database's
 * default because an encoding named per write costs more than the write (abstract-level copies
 * the options into each operation).
 */
const AS_TEXT = { valueEncoding: 'utf8' } as const;
/**
 * The value of an index entry. Never empty: classic-level 3.0 does not free its copy of an empty
 * value (measured: ~33 bytes of native memory lost per put, so a busy runtime grew without end).
 */
const INDEXED = Uint8Array.of(0x31);

export interface LevelStoreOptions {
  /** The store directory (created if missing). */
  path: string;
  /** fsync every commit before it resolves. */
  sync: boolean;
}

/** The embedded store: one LevelDB, one writer (the lock), one batch per group commit. */
export class LevelStore implements TaskStore {
  readonly #path: string;
  readonly #sync: boolean;
  readonly #db: Level<string, Uint8Array>;
  readonly #writer = new RecordWriter();

  constructor(options: LevelStoreOptions) {
    this.#path = options.path;
    this.#sync = options.sync;
    this.#db = new Level<string, Uint8Array>(options.path, { keyEncoding: 'utf8', valueEncoding: 'view' });
  }

  async open(): Promise<void> {
    try {
      const st = statSync(this.#path, { throwIfNoEntry: false });
      if (st && !st.isDirectory()) {
        throw new SpindleError('STORE_INVALID', `the store path ${this.#path} exists and is not a directory`, { path: this.#path });
      }
      mkdirSync(this.#path, { recursive: true, mode: 0o700 });
      // A task's record is rewritten within moments (submitted, started, finished): a memtable four
      // times LevelDB's default flushes and compacts a quarter as often (measured: its compaction
      // thread's CPU halved for the same 20,000 tasks), for up to 32 MB more memory while flushing.
      await this.#db.open({ writeBufferSize: 16 * 1024 * 1024 });
    } catch (err) {
      throw openError(err, this.#path);
    }
    const meta = await this.#db.get<string, string>(META_KEY, AS_TEXT);
    if (meta === undefined) {
      await this.#db.put<string, string>(META_KEY, JSON.stringify({ layout: STORE_LAYOUT, createdAt: new Date().toISOString() }), AS_TEXT);
    } else {
      const layout = safeParse(meta)?.layout;
      if (layout !== STORE_LAYOUT) {
        await this.#db.close();
        throw new SpindleError('STORE_INVALID', `the store at ${this.#path} has layout ${String(layout)}, this version reads ${STORE_LAYOUT}`, { path: this.#path });
      }
    }
  }

  async close(): Promise<void> {
    if (this.#db.status === 'open' || this.#db.status === 'opening') await this.#db.close();
  }

  async commit(changes: ChangeSet): Promise<void> {
    const batch = this.#db.batch();
    const w = this.#writer;
    for (const { before, after } of changes.tasks) {
      if (after === null) {
        if (before !== null) deleteTask(batch, before);
        continue;
      }
      batch.put(taskKey(after.id), w.task(after));
      diffIndexes(batch, before, after);
    }
    for (const run of changes.runs) batch.put(runKey(run.taskId, run.run), w.run(run));
    for (const h of changes.history) batch.put(historyKey(h.taskId, h.chunk), w.history(h.entries));
    for (const [type, counts] of changes.counters) batch.put(counterKey(type), Buffer.from(JSON.stringify(counts)));
    try {
      await batch.write(this.#sync ? { sync: true } : {});
    } catch (err) {
      throw new SpindleError('STORE_UNAVAILABLE', `the store could not write: ${(err as Error).message}`, { path: this.#path }, err);
    }
  }

  async getTask(id: string): Promise<TaskRecord | undefined> {
    const v = await this.#db.get<string, string>(taskKey(id), AS_TEXT);
    return v === undefined ? undefined : decodeTask(v);
  }

  async getTasks(ids: readonly string[]): Promise<Array<TaskRecord | undefined>> {
    if (ids.length === 0) return [];
    const values = await this.#db.getMany<string, string>(ids.map(taskKey), AS_TEXT);
    return values.map((v) => (v === undefined ? undefined : decodeTask(v)));
  }

  findKey(key: string): Promise<string | undefined> {
    return this.#db.get<string, string>(keyKey(key), AS_TEXT);
  }

  async listIds(q: ListQuery): Promise<string[]> {
    if (q.state === undefined && q.type === undefined) {
      const range = q.cursor === undefined ? { gte: 't!', lt: 't!\xff' } : { gte: 't!', lt: `t!${q.cursor}` };
      return (await this.#db.keys({ ...range, reverse: true, limit: q.limit }).all()).map(idOf);
    }
    const types = q.type !== undefined ? [q.type] : await this.#types();
    const states = q.state !== undefined ? [q.state] : TASK_STATES;
    return this.#mergeIds(types.flatMap((type) => states.map((state) => typeStatePrefix(type, state))), q.limit, true, q.cursor);
  }

  async dueAfter(after: DueEntry | null, limit: number): Promise<DueEntry[]> {
    const range = after === null ? { gte: 'd!' } : { gt: dueKey(after.due, after.id) };
    const keys = await this.#db.keys({ ...range, lt: 'd!\xff', limit }).all();
    return keys.map(parseDueKey);
  }

  async idsInState(state: TaskState, limit: number, cursor?: string, type?: string): Promise<string[]> {
    const types = type !== undefined ? [type] : await this.#types();
    return this.#mergeIds(types.map((t) => typeStatePrefix(t, state)), limit, false, cursor);
  }

  /** Every type the store has counted, so every type with an index range. */
  async #types(): Promise<string[]> {
    return (await this.#db.keys({ gte: 'c!', lt: 'c!\xff' }).all()).map((k) => k.slice(2));
  }

  /**
   * One page of ids in id order (newest first when `reverse`) from several index ranges, each
   * read up to `limit` past the exclusive `cursor`. Ids sort by creation time, so this is the
   * order a single index over all the ranges would give.
   */
  async #mergeIds(prefixes: readonly string[], limit: number, reverse: boolean, cursor?: string): Promise<string[]> {
    const pages = await Promise.all(prefixes.map((prefix) => {
      const range = reverse
        ? { gte: prefix, lt: cursor === undefined ? `${prefix}\xff` : prefix + cursor }
        : { gt: cursor === undefined ? prefix : prefix + cursor, lt: `${prefix}\xff` };
      return this.#db.keys({ ...range, reverse, limit }).all();
    }));
    const ids = pages.flat().map(idOf).sort();
    if (reverse) ids.reverse();
    return ids.slice(0, limit);
  }

  async runs(taskId: string): Promise<RunRecord[]> {
    const values = await this.#db.values<string, string>({ gte: `r!${taskId}!`, lt: `r!${taskId}!\xff`, ...AS_TEXT }).all();
    return values.map(decodeRun);
  }

  async historyChunks(taskId: string, chunks: number): Promise<HistoryEntry[]> {
    if (chunks === 0) return [];
    const keys = Array.from({ length: chunks }, (_, i) => historyKey(taskId, i));
    const values = await this.#db.getMany<string, string>(keys, AS_TEXT);
    return values.flatMap((v) => (v === undefined ? [] : decodeHistory(v)));
  }

  async counters(): Promise<Map<string, StateCounts>> {
    const out = new Map<string, StateCounts>();
    for await (const [k, v] of this.#db.iterator<string, string>({ gte: 'c!', lt: 'c!\xff', ...AS_TEXT })) out.set(k.slice(2), JSON.parse(v) as StateCounts);
    return out;
  }

  async expired(now: number, limit: number): Promise<string[]> {
    const keys = await this.#db.keys({ gte: 'x!', lte: `x!${String(now).padStart(15, '0')}!\xff`, limit }).all();
    return keys.map(idOf);
  }

  async keysExpired(now: number, limit: number): Promise<string[]> {
    const keys = await this.#db.keys({ gte: 'kx!', lte: keyExpiryUpTo(now), limit }).all();
    return keys.map(idOf);
  }
}

function diffIndexes(batch: Batch, before: TaskRecord | null, after: TaskRecord): void {
  const id = after.id;
  if (before === null || before.state !== after.state || before.type !== after.type) {
    if (before !== null) batch.del(typeStateKey(before.type, before.state, id));
    batch.put(typeStateKey(after.type, after.state, id), INDEXED);
  }
  const due = dueOf(after);
  const dueWas = before === null ? null : dueOf(before);
  if (due !== dueWas) {
    if (dueWas !== null) batch.del(dueKey(dueWas, id));
    if (due !== null) batch.put(dueKey(due, id), INDEXED);
  }
  const key = heldKeyOf(after);
  const keyWas = before === null ? null : heldKeyOf(before);
  if (key !== keyWas) {
    // A task that gives up a key and a new task that takes it share a batch: the giver comes
    // first in it (the supervisor releases before it creates), so this delete precedes that put.
    if (keyWas !== null) batch.del(keyKey(keyWas));
    // The value names the task that holds the key.
    if (key !== null) batch.put(keyKey(key), Buffer.from(id));
  }
  const keyExpiry = after.keyExpiresAt;
  const keyExpiryWas = before === null ? null : before.keyExpiresAt;
  if (keyExpiry !== keyExpiryWas) {
    if (keyExpiryWas !== null) batch.del(keyExpiryKey(keyExpiryWas, id));
    if (keyExpiry !== null) batch.put(keyExpiryKey(keyExpiry, id), INDEXED);
  }
  const expiry = after.expiresAt;
  const expiryWas = before === null ? null : before.expiresAt;
  if (expiry !== expiryWas) {
    if (expiryWas !== null) batch.del(expiryKey(expiryWas, id));
    if (expiry !== null) batch.put(expiryKey(expiry, id), INDEXED);
  }
}

function deleteTask(batch: Batch, rec: TaskRecord): void {
  batch.del(taskKey(rec.id));
  for (const k of indexKeys(rec)) batch.del(k);
  for (let run = 1; run <= rec.runCount; run++) batch.del(runKey(rec.id, run));
  for (let chunk = 0; chunk < rec.historyChunks; chunk++) batch.del(historyKey(rec.id, chunk));
}

function openError(err: unknown, path: string): SpindleError {
  if (err instanceof SpindleError) return err;
  const e = err as { code?: string; cause?: { code?: string; message?: string }; message?: string };
  const cause = e.cause ?? e;
  const text = `${cause.message ?? ''}`;
  if (cause.code === 'LEVEL_LOCKED') {
    return new SpindleError('ALREADY_RUNNING', `another runtime holds the store at ${path}; stop it first (spindle stop)`, { path }, err);
  }
  if (e.code === 'EACCES' || e.code === 'EROFS' || /permission denied|read-only/i.test(text)) {
    return new SpindleError('STORE_READONLY', `cannot write the store at ${path}: ${text || e.message}; check its permissions`, { path }, err);
  }
  if (/corrupt/i.test(text)) {
    return new SpindleError('STORE_CORRUPT', `the store at ${path} is damaged (${text}); run \`spindle repair\``, { path }, err);
  }
  return new SpindleError('STORE_INVALID', `cannot open the store at ${path}: ${text || e.message}`, { path }, err);
}

function safeParse(text: string): { layout?: unknown } | undefined {
  try {
    return JSON.parse(text) as { layout?: unknown };
  } catch {
    return undefined;
  }
}
