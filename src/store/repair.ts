import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { Level } from 'level';
import type { RepairReport, StateCounts } from '../api/runtime-api.js';
import { SpindleError } from '../errors.js';
import type { TaskRecord } from '../task/record.js';
import { TASK_STATES, type TaskState } from '../task/state.js';
import { counterKey, DERIVED_RANGES, idOf, indexKeys, META_KEY, PAUSED_KEPT, pausedCountKey, pausedOf } from './keys.js';
import { openError } from './level-errors.js';
import { decodeTask } from './record-codec.js';
import { claimRepair, releaseRepair } from './store-files.js';
import { parseMeta } from './store-meta.js';

/** Index ranges derived from the task records (see keys.ts); rebuilt whole after a repair. */
const BATCH_OPS = 1000;

/**
 * LevelDB's repair, made safe to run and honest about its result. LevelDB's RepairDB does not
 * take the store's lock, so this marks the repair first (a starting runtime that has taken the
 * lock looks for the mark) and then proves the lock is free by opening the store. The repair
 * keeps what can be read of each file, so the indexes and per-type counts may no longer match
 * the task records: both are rebuilt from the records, which the report compares with before.
 */
export async function repairStore(path: string): Promise<RepairReport> {
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory() !== true) {
    throw new SpindleError('STORE_INVALID', `there is no store at ${path} to repair`, { path });
  }
  claimRepair(path);
  try {
    const before = await countersBefore(path);
    const lostDir = join(path, 'lost');
    const lostBefore = new Set(filesIn(lostDir));
    await ClassicLevel.repair(path);
    // Repair always archives the old logs and manifests there too, once converted: not a loss.
    const lostFiles = filesIn(lostDir).filter((name) => !lostBefore.has(name) && /\.(ldb|sst)$/.test(name));
    return { path, before, ...(await rebuildIndexes(path)), lostFiles, lostDir };
  } finally {
    releaseRepair(path);
  }
}

/** Opens the store once: ALREADY_RUNNING if its lock is held, else what its counters said. */
async function countersBefore(path: string): Promise<StateCounts | null> {
  const db = new Level<string, string>(path, { valueEncoding: 'utf8' });
  try {
    await db.open({ createIfMissing: false });
  } catch (err) {
    const refused = openError(err, path);
    if (refused.code === 'ALREADY_RUNNING') throw refused;
    return null; // too damaged to open: that is what the repair is for
  }
  try {
    const total: StateCounts = {};
    for (const [, value] of await db.iterator({ gte: 'c!', lt: 'c!\xff' }).all()) addCounts(total, JSON.parse(value) as StateCounts);
    return total;
  } catch {
    return null;
  } finally {
    await db.close();
  }
}

function filesIn(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

async function rebuildIndexes(path: string): Promise<Pick<RepairReport, 'after' | 'types' | 'unreadable'>> {
  const db = new Level<string, string>(path, { valueEncoding: 'utf8' });
  await db.open({ createIfMissing: false });
  try {
    for (const prefix of DERIVED_RANGES) await db.clear({ gte: prefix, lt: `${prefix}\xff` });
    const types: Record<string, StateCounts> = {};
    const paused = new Map<string, number>();
    let unreadable = 0;
    let batch = db.batch();
    for await (const [key, value] of db.iterator({ gte: 't!', lt: 't!\xff' })) {
      const rec = readTask(key, value);
      if (rec === null) {
        unreadable++;
        batch.del(key);
      } else {
        const counts = (types[rec.type] ??= {});
        counts[rec.state] = (counts[rec.state] ?? 0) + 1;
        if (pausedOf(rec)) paused.set(rec.type, (paused.get(rec.type) ?? 0) + 1);
        // The value of an index entry is a marker, except the key index's, which names the task.
        for (const k of indexKeys(rec)) batch.put(k, k.startsWith('k!') ? rec.id : '1');
      }
      if (batch.length >= BATCH_OPS) {
        await batch.write();
        batch = db.batch();
      }
    }
    for (const [type, counts] of Object.entries(types)) batch.put(counterKey(type), JSON.stringify(counts));
    for (const [type, n] of paused) batch.put(pausedCountKey(type), String(n));
    // A damaged meta record is left for the open to refuse.
    const metaText = await db.get(META_KEY);
    const meta = metaText === undefined ? null : parseMeta(metaText);
    if (meta !== null) batch.put(META_KEY, JSON.stringify({ ...meta, [PAUSED_KEPT]: true }));
    await batch.write();
    const after: StateCounts = {};
    for (const counts of Object.values(types)) addCounts(after, counts);
    return { after, types, unreadable };
  } finally {
    await db.close();
  }
}

function readTask(key: string, value: string): TaskRecord | null {
  try {
    const rec = decodeTask(value);
    const valid = rec.id === idOf(key) && typeof rec.type === 'string' && (TASK_STATES as readonly string[]).includes(rec.state);
    return valid ? rec : null;
  } catch {
    return null;
  }
}

function addCounts(total: StateCounts, counts: StateCounts): void {
  for (const [state, n] of Object.entries(counts) as Array<[TaskState, number]>) total[state] = (total[state] ?? 0) + n;
}
