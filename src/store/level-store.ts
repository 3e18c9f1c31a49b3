import { mkdirSync, readdirSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Level } from 'level';
import { SpindleError } from '../errors.js';
import type { HistoryEntry, RunRecord, TaskRecord } from '../task/record.js';
import type { TaskState } from '../task/state.js';
import { TASK_STATES } from '../task/state.js';
import {
  dueKey, historyKey, idOf, keyExpiryUpTo, keyKey, META_KEY, parseDueKey, PAUSED_KEPT, pausedPrefix, runKey, taskKey,
  typeStatePrefix, WRITE_MARK_KEY,
} from './keys.js';
import { CountRows } from './count-rows.js';
import { deleteTask, diffIndexes, writeTypePauses } from './index-writes.js';
import { nativeBatch } from './native-batch.js';
import type { MinuteCounts } from '../api/series.js';
import { type KeyRange, mergeIds, type RangeReads, readSeries, searchIds } from './level-reads.js';
import { parseRow, seriesKey, seriesPrefix, SeriesRows } from './series-rows.js';
import { corruptError, isCorruption, openError, runTimeError } from './level-errors.js';
import { decodeHistory, decodeRun, decodeTask, RecordWriter } from './record-codec.js';
import type { RepairReport } from '../api/runtime-api.js';
import { repairStore } from './repair.js';
import { assertNoRepair, assertStoreComplete } from './store-files.js';
import { metaAtOpen } from './store-meta.js';
import type { ChangeSet, DueEntry, ListQuery, SearchQuery, StateCounts, TaskStore } from './store.js';

type Db = Level<string, Uint8Array>;

/**
 * Values are written as bytes (see RecordWriter) and read as text. Bytes are the database's
 * default because an encoding named per write costs more than the write (abstract-level copies
 * the options into each operation).
 */
const AS_TEXT = { valueEncoding: 'utf8' } as const;
/** Free space a reopen after a failed write waits for: the log to rewrite (up to this)… */
const REOPEN_ROOM_BYTES = 1024 * 1024;
/** …plus room for a new manifest and log. */
const REOPEN_SLACK_BYTES = 64 * 1024;

export interface LevelStoreOptions {
  /** The store directory (created if missing). */
  path: string;
  /** fsync every commit before it resolves. */
  sync: boolean;
  /**
   * Called once when the store stops serving for good: its files are damaged, or a write it
   * reported failed turned out to be stored. The owner should stop; a restart (after `spindle
   * repair` for damage) serves again.
   */
  onFatal?: (err: SpindleError) => void;
}

/**
 * The embedded store: one LevelDB, one writer (the lock), one batch per group commit.
 *
 * A failed write leaves LevelDB appending to a log whose block offsets no longer match the file
 * (it records no error for a failed unsynced append), and its next open drops everything after
 * the damage: writes acknowledged after a full disk cleared would be lost. So after a failed
 * write the database is closed and reopened, which recovers the log up to the damage and starts
 * a new one; until a reopen succeeds (not while the disk is still full) every write is refused.
 */
export class LevelStore implements TaskStore {
  readonly #path: string;
  readonly #sync: boolean;
  readonly #onFatal: ((err: SpindleError) => void) | undefined;
  #db: Db;
  /** Bumped by each reopen: a read that failed on an older database is tried once more. */
  #generation = 0;
  /** A write failed and no reopen has succeeded since: the log must be replaced before the next write. */
  #damaged = false;
  #reopening: Promise<void> | null = null;
  #fatal: SpindleError | null = null;
  #closed = false;
  /**
   * Every batch also writes its number under WRITE_MARK_KEY, so after a reopen the store can tell
   * whether a write it reported failed was stored after all (an fsync that failed after the
   * append: LevelDB keeps the record in its log and recovers it at the next open).
   */
  #writes = 0;
  #failedWrite: number | null = null;
  readonly #writer = new RecordWriter();
  readonly #counts = new CountRows();
  readonly #series = new SeriesRows();
  readonly #ranges: RangeReads = {
    keys: (range: KeyRange) => this.#read((db) => db.keys(range).all()),
    entries: (range: KeyRange) => this.#read((db) => db.iterator<string, string>({ ...range, ...AS_TEXT }).all()),
  };

  constructor(options: LevelStoreOptions) {
    this.#path = options.path;
    this.#sync = options.sync;
    this.#onFatal = options.onFatal;
    this.#db = this.#newDb();
  }

  /** LevelDB's repair, then the indexes and counts rebuilt from the tasks (repair.ts); ALREADY_RUNNING while the store is open. */
  static repair(path: string): Promise<RepairReport> {
    return repairStore(path);
  }

  #newDb(): Db {
    return new Level<string, Uint8Array>(this.#path, { keyEncoding: 'utf8', valueEncoding: 'view' });
  }

  async open(): Promise<void> {
    try {
      const st = statSync(this.#path, { throwIfNoEntry: false });
      if (st && !st.isDirectory()) {
        throw new SpindleError('STORE_INVALID', `the store path ${this.#path} exists and is not a directory`, { path: this.#path });
      }
      mkdirSync(this.#path, { recursive: true, mode: 0o700 });
      assertStoreComplete(this.#path);
      await this.#openDb();
    } catch (err) {
      throw openError(err, this.#path);
    }
    try {
      assertNoRepair(this.#path);
      const { meta, write } = metaAtOpen(await this.#db.get<string, string>(META_KEY, AS_TEXT), this.#path);
      if (write) await this.#db.put<string, string>(META_KEY, JSON.stringify(meta), AS_TEXT);
      this.#writes = Number(await this.#db.get<string, string>(WRITE_MARK_KEY, AS_TEXT) ?? 0);
      await this.#counts.load(this.#ranges, (text, key) => this.#decode((t) => JSON.parse(t) as StateCounts, text, key));
      await this.#counts.loadPaused(this.#ranges, meta[PAUSED_KEPT] === true, this, async (put) => {
        const batch = this.#db.batch();
        put(batch);
        batch.put(META_KEY, Buffer.from(JSON.stringify({ ...meta, [PAUSED_KEPT]: true })));
        await batch.write();
      });
    } catch (err) {
      await this.#db.close();
      throw openError(err, this.#path);
    }
  }

  /**
   * A task's record is rewritten within moments (submitted, started, finished): a memtable four
   * times LevelDB's default flushes and compacts a quarter as often (measured: its compaction
   * thread's CPU halved for the same 20,000 tasks), for up to 32 MB more memory while flushing.
   */
  #openDb(): Promise<void> {
    return this.#db.open({ createIfMissing: true, writeBufferSize: 16 * 1024 * 1024 });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#reopening?.catch(() => undefined);
    if (this.#db.status === 'open' || this.#db.status === 'opening') await this.#db.close();
  }

  /** Why the store stopped serving for good, or null. */
  get failure(): SpindleError | null {
    return this.#fatal;
  }

  /**
   * The database to use, reopened first if a write damaged its log; refuses once fatal. A
   * damaged database still reads correctly (only its log's tail is off), so reads use it until
   * there is room to reopen: a full disk stops writes, not `get` and `list`.
   */
  async #ready(use: 'read' | 'write'): Promise<Db> {
    if (this.#fatal !== null) throw this.#fatal;
    if (this.#closed) throw new SpindleError('SHUTTING_DOWN', 'the store is closed; retry once the runtime is back');
    if (this.#damaged && (use === 'write' || this.#db.status !== 'open')) {
      if (this.#reopening === null && !this.#roomToReopen()) {
        throw new SpindleError('STORE_UNAVAILABLE', `no room to write the store at ${this.#path}: its disk is full; free some space`, { path: this.#path });
      }
      this.#reopening ??= this.#reopen().finally(() => { this.#reopening = null; });
      await this.#reopening;
    }
    return this.#db;
  }

  /**
   * Whether a reopen can be tried: it writes the log's records into a table and a new manifest,
   * and an open that fails leaves the store closed to reads as well, so not on a disk still full.
   */
  #roomToReopen(): boolean {
    try {
      const fs = statfsSync(this.#path);
      const logBytes = readdirSync(this.#path).filter((n) => n.endsWith('.log')).reduce((sum, n) => sum + statSync(join(this.#path, n)).size, 0);
      return fs.bavail * fs.bsize >= Math.min(logBytes, REOPEN_ROOM_BYTES) + REOPEN_SLACK_BYTES;
    } catch {
      return true; // the open itself will tell
    }
  }

  async #reopen(): Promise<void> {
    if (this.#db.status === 'open') await this.#db.close().catch(() => undefined);
    if (this.#closed) throw new SpindleError('SHUTTING_DOWN', 'the store is closed; retry once the runtime is back');
    this.#db = this.#newDb();
    this.#generation++;
    this.#series.clear();
    try {
      await this.#openDb();
    } catch (err) {
      throw this.#failed(runTimeError(this.#path, err, 'write'));
    }
    let mark: number;
    try {
      mark = Number(await this.#db.get<string, string>(WRITE_MARK_KEY, AS_TEXT) ?? 0);
    } catch (err) {
      throw this.#failed(runTimeError(this.#path, err, 'read'));
    }
    this.#damaged = false;
    if (this.#failedWrite !== null && mark >= this.#failedWrite) {
      throw this.#fatalError(new SpindleError('STORE_UNAVAILABLE', `a write to the store at ${this.#path} that was reported failed was stored after all (its fsync failed); restart the runtime, which reads the store as it is`, { path: this.#path }));
    }
    this.#writes = mark;
    this.#failedWrite = null;
  }

  /** Corruption stops the store for good; anything else is passed on as it is. */
  #failed(err: SpindleError): SpindleError {
    return err.code === 'STORE_CORRUPT' ? this.#fatalError(err) : err;
  }

  #fatalError(err: SpindleError): SpindleError {
    if (this.#fatal === null) {
      this.#fatal = err;
      this.#onFatal?.(err);
    }
    return this.#fatal;
  }

  /** Runs a read on the current database, once more if a reopen replaced it meanwhile. */
  async #read<T>(read: (db: Db) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const db = await this.#ready('read');
      const generation = this.#generation;
      try {
        return await read(db);
      } catch (err) {
        if (isCorruption(err)) throw this.#fatalError(corruptError(this.#path, err));
        if (attempt === 0 && generation !== this.#generation) continue;
        throw runTimeError(this.#path, err, 'read');
      }
    }
  }

  /**
   * LevelDB checks a block's checksum only when asked, and classic-level cannot ask: a damaged
   * table block can read back as a garbled value. A record that no longer parses is damage too.
   */
  #decode<T>(decode: (text: string) => T, text: string, key: string): T {
    try {
      return decode(text);
    } catch (err) {
      throw this.#fatalError(new SpindleError('STORE_CORRUPT', `the store at ${this.#path} holds a damaged record (${key}: ${(err as Error).message}); run \`spindle repair\` while no runtime uses it`, { path: this.#path }, err));
    }
  }

  async commit(changes: ChangeSet): Promise<void> {
    const db = await this.#ready('write');
    const whole = db.batch();
    const batch = nativeBatch(whole);
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
    if (changes.typePauses !== undefined) writeTypePauses(batch, changes.typePauses);
    const counts = this.#counts.put(batch, changes.counters, changes.paused);
    let series: Map<string, MinuteCounts> | null = null;
    if (changes.series !== undefined && changes.series.size > 0) {
      series = this.#series.merge(changes.series) ?? null;
      if (series === null) {
        await this.#series.load(changes.series, (key) => db.get<string, string>(key, AS_TEXT));
        series = this.#series.merge(changes.series)!;
      }
    }
    for (const [key, row] of series ?? []) batch.put(key, Buffer.from(JSON.stringify(row)));
    const number = this.#writes + 1;
    // Through the public put: the batch counts it, so it is never skipped as empty.
    whole.put(WRITE_MARK_KEY, Buffer.from(String(number)));
    try {
      await whole.write(this.#sync ? { sync: true } : {});
      this.#writes = number;
      this.#counts.written(counts);
      if (series !== null) this.#series.written(series);
    } catch (err) {
      const error = runTimeError(this.#path, err, 'write');
      if (error.code === 'STORE_CORRUPT') throw this.#fatalError(error);
      this.#damaged = true;
      this.#failedWrite = number;
      // Reopened now when it can be (the disk has room again), so a later write finds a new log.
      await this.#ready('write').catch(() => undefined);
      throw error;
    }
  }

  async getTask(id: string): Promise<TaskRecord | undefined> {
    const v = await this.#read((db) => db.get<string, string>(taskKey(id), AS_TEXT));
    return v === undefined ? undefined : this.#decode(decodeTask, v, taskKey(id));
  }

  async getTasks(ids: readonly string[]): Promise<Array<TaskRecord | undefined>> {
    if (ids.length === 0) return [];
    const values = await this.#read((db) => db.getMany<string, string>(ids.map(taskKey), AS_TEXT));
    return values.map((v, i) => (v === undefined ? undefined : this.#decode(decodeTask, v, taskKey(ids[i]!))));
  }

  findKey(key: string): Promise<string | undefined> {
    return this.#read((db) => db.get<string, string>(keyKey(key), AS_TEXT));
  }

  async listIds(q: ListQuery): Promise<string[]> {
    if (q.paused === true) {
      const types = q.type !== undefined ? [q.type] : await this.#types();
      return mergeIds(this.#ranges, types.map(pausedPrefix), q.limit, true, q.cursor);
    }
    if (q.state === undefined && q.type === undefined) {
      const range = q.cursor === undefined ? { gte: 't!', lt: 't!\xff' } : { gte: 't!', lt: `t!${q.cursor}` };
      return (await this.#read((db) => db.keys({ ...range, reverse: true, limit: q.limit }).all())).map(idOf);
    }
    const types = q.type !== undefined ? [q.type] : await this.#types();
    const states = q.state !== undefined ? [q.state] : TASK_STATES;
    return mergeIds(this.#ranges, types.flatMap((type) => states.map((state) => typeStatePrefix(type, state))), q.limit, true, q.cursor);
  }

  async dueAfter(after: DueEntry | null, limit: number): Promise<DueEntry[]> {
    const range = after === null ? { gte: 'd!' } : { gt: dueKey(after.due, after.id) };
    const keys = await this.#read((db) => db.keys({ ...range, lt: 'd!\xff', limit }).all());
    return keys.map(parseDueKey);
  }

  async idsInState(state: TaskState, limit: number, cursor?: string, type?: string): Promise<string[]> {
    const types = type !== undefined ? [type] : await this.#types();
    return mergeIds(this.#ranges, types.map((t) => typeStatePrefix(t, state)), limit, false, cursor);
  }

  /** Every type the store has counted, so every type with an index range. */
  async #types(): Promise<string[]> {
    return (await this.#read((db) => db.keys({ gte: 'c!', lt: 'c!\xff' }).all())).map((k) => k.slice(2));
  }

  async runs(taskId: string): Promise<RunRecord[]> {
    const values = await this.#read((db) => db.values<string, string>({ gte: `r!${taskId}!`, lt: `r!${taskId}!\xff`, ...AS_TEXT }).all());
    return values.map((v) => this.#decode(decodeRun, v, `r!${taskId}`));
  }

  async historyChunks(taskId: string, chunks: number): Promise<HistoryEntry[]> {
    if (chunks === 0) return [];
    const keys = Array.from({ length: chunks }, (_, i) => historyKey(taskId, i));
    const values = await this.#read((db) => db.getMany<string, string>(keys, AS_TEXT));
    return values.flatMap((v, i) => (v === undefined ? [] : this.#decode(decodeHistory, v, keys[i]!)));
  }

  async counters(): Promise<Map<string, StateCounts>> {
    return this.#counts.counts();
  }

  async pausedCounts(): Promise<Map<string, number>> {
    return this.#counts.paused();
  }

  series(type: string, fromMinute: number, toMinute: number): Promise<Array<{ minute: number; counts: MinuteCounts }>> {
    return readSeries(this.#ranges, type, fromMinute, toMinute, (text, key) => this.#decode(parseRow, text, key));
  }

  /** A range delete per type, outside the group commit: nothing else writes minutes that old. */
  async sweepSeries(minute: number): Promise<void> {
    const db = await this.#ready('write');
    for (const type of this.#counts.types()) await db.clear({ gte: seriesPrefix(type), lt: seriesKey(type, minute) });
  }

  searchIds(query: SearchQuery, scanLimit: number): Promise<{ ids: string[]; exhausted: boolean }> {
    return searchIds(this.#ranges, query, scanLimit);
  }

  async typePauses(): Promise<string[]> {
    return (await this.#read((db) => db.keys({ gte: 'tp!', lt: 'tp!\xff' }).all())).map((k) => k.slice(3));
  }

  async expired(now: number, limit: number): Promise<string[]> {
    const keys = await this.#read((db) => db.keys({ gte: 'x!', lte: `x!${String(now).padStart(15, '0')}!\xff`, limit }).all());
    return keys.map(idOf);
  }

  async keysExpired(now: number, limit: number): Promise<string[]> {
    const keys = await this.#read((db) => db.keys({ gte: 'kx!', lte: keyExpiryUpTo(now), limit }).all());
    return keys.map(idOf);
  }
}
