import type { TaskRecord } from '../task/record.js';
import {
  dueKey, dueOf, expiryKey, heldKeyOf, historyKey, indexKeys, keyExpiryKey, keyKey, pausedKey, pausedOf, runKey, taskKey, typePausedKey,
  typeStateKey,
} from './keys.js';
import { diffErrorKeys } from './search-keys.js';

/** What a write needs of a LevelDB batch. */
export interface Batch {
  put(key: string, value: Uint8Array): unknown;
  del(key: string): unknown;
}

/**
 * The value of an index entry. Never empty: classic-level 3.0 does not free its copy of an empty
 * value (measured: ~33 bytes of native memory lost per put, so a busy runtime grew without end).
 */
const INDEXED = Uint8Array.of(0x31);

/** Every index entry that moved between two versions of a task (before null: a new task). */
export function diffIndexes(batch: Batch, before: TaskRecord | null, after: TaskRecord): void {
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
  const paused = pausedOf(after);
  if (paused !== (before !== null && pausedOf(before))) {
    if (paused) batch.put(pausedKey(after.type, id), INDEXED);
    else batch.del(pausedKey(after.type, id));
  }
  diffErrorKeys(before, after, batch, INDEXED);
}

export function deleteTask(batch: Batch, rec: TaskRecord): void {
  batch.del(taskKey(rec.id));
  for (const k of indexKeys(rec)) batch.del(k);
  for (let run = 1; run <= rec.runCount; run++) batch.del(runKey(rec.id, run));
  for (let chunk = 0; chunk < rec.historyChunks; chunk++) batch.del(historyKey(rec.id, chunk));
}

/** A paused type is a marker key; resuming deletes it. */
export function writeTypePauses(batch: Batch, pauses: ReadonlyMap<string, boolean>): void {
  for (const [type, paused] of pauses) {
    if (paused) batch.put(typePausedKey(type), INDEXED);
    else batch.del(typePausedKey(type));
  }
}
