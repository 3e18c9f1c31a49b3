import type { PoolClient } from 'pg';
import { SpindleError } from '../../errors.js';
import type { TaskRecord } from '../../task/record.js';
import { TERMINAL_STATES } from '../../task/state.js';
import type { SubmitRequest, Submitted } from '../task-source.js';
import { openCount } from './pg-counts.js';
import { keyColumn, LOADED_COLUMNS } from './rows.js';
import type { TaskWrite } from './task-write.js';

/**
 * A submit inside its transaction: all or none. The holders of its idempotency keys are found
 * under the keys' locks, maxQueued is read under the types' locks, and the new tasks are built
 * into `w`; a refusal throws and the transaction rolls back.
 */
export async function writeSubmits(client: PoolClient, w: TaskWrite, request: SubmitRequest): Promise<Submitted[]> {
  const existing = new Map<string, TaskRecord>();
  const keys = keysOf(request);
  if (keys.length > 0) {
    // Two submits of one new key would both find no holder: the key's lock makes the second wait for the first.
    await client.query('SELECT pg_advisory_xact_lock(1, hashtext(k)) FROM unnest($1::text[]) AS k', [keys]);
    const rows = await client.query(`SELECT ${LOADED_COLUMNS} FROM spindle_tasks WHERE key = ANY($1::text[]) ORDER BY id FOR UPDATE`, [keys]);
    for (const row of rows.rows) {
      const t = w.loaded(row);
      // A hold is over at keyExpiresAt whether or not a sweep released it yet: released here,
      // in the write that may give the key to a new task.
      if (holdRanOut(t.rec, w.now)) w.apply(t, (rec) => { rec.keyExpiresAt = null; rec.updatedAt = w.now; });
      else existing.set(t.rec.key!, t.rec);
    }
  }
  await checkQueueLimits(client, request, existing);
  const out: Submitted[] = [];
  for (const task of request.tasks) {
    const holder = task.key === null ? undefined : existing.get(task.key);
    if (holder !== undefined) {
      const err = task.conflict(holder);
      if (err !== null) throw err;
      out.push({ rec: holder, existing: true });
      continue;
    }
    const rec = task.create(w);
    w.created(rec);
    if (task.key !== null) existing.set(task.key, rec);
    out.push({ rec, existing: false });
  }
  return out;
}

/** The submit's keys as stored, each once, sorted (the order their locks are taken in); most submits have none. */
function keysOf(request: SubmitRequest): string[] {
  let keys: Set<string> | null = null;
  for (const t of request.tasks) if (t.key !== null) (keys ??= new Set()).add(keyColumn(t.key));
  return keys === null ? [] : [...keys].sort();
}

function holdRanOut(rec: TaskRecord, now: number): boolean {
  return TERMINAL_STATES.has(rec.state) && rec.keyExpiresAt !== null && rec.keyExpiresAt <= now;
}

/**
 * maxQueued, read inside the submit's transaction from the counts as committed: a per-type lock
 * serialises the submits of a limited type, so each reads the count with every earlier one's tasks
 * in it. As on LevelDB, only submits are refused: a RETRY may open a task past the limit (the next
 * submit counts it), and a recurring task stays one open task from occurrence to occurrence.
 */
async function checkQueueLimits(client: PoolClient, request: SubmitRequest, existing: Map<string, TaskRecord>): Promise<void> {
  const adding = new Map<string, number>();
  for (const t of request.tasks) {
    if (t.key === null || !existing.has(t.key)) adding.set(t.type, (adding.get(t.type) ?? 0) + 1);
  }
  const limited = [...adding.keys()].filter((type) => request.maxQueued.has(type)).sort();
  for (const type of limited) {
    await client.query('SELECT pg_advisory_xact_lock(2, hashtext($1))', [type]);
    const open = await openCount(client, type);
    const max = request.maxQueued.get(type)!;
    const n = adding.get(type)!;
    if (open + n > max) {
      throw new SpindleError('QUEUE_FULL', `type ${type} already has ${open} open tasks (maxQueued ${max}); retry later`, { type });
    }
  }
}
