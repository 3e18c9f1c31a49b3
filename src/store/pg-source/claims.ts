import type { PoolClient, QueryResultRow } from 'pg';
import type { Claim, ClaimPool, ClaimRequest } from '../task-source.js';
import type { Op } from './group-commit.js';
import { NEXT_DUE_SQL } from './due-order.js';
import type { ClaimKey } from './claim-cursor.js';
import { LOADED_COLUMNS, type Holder } from './rows.js';
import type { TaskWrite } from './task-write.js';

/**
 * Due tasks of the given types in claim order, locked, skipping those another transaction holds.
 * A plain SELECT … FOR UPDATE (not a CTE joined back to the table) so the rows returned are the
 * versions locked: a row changed and committed meanwhile is re-checked and returned as it is now,
 * where a join would read the statement's older snapshot. The UPDATE comes later, by id, so the
 * LIMIT cannot be overrun (the reason Oban and queue_classic put it in a CTE). A type an operator
 * paused is left out here, by the table, not by any runtime's copy of it: once a pause is
 * written, no runtime's claim takes that type's tasks. The types are filtered once per statement
 * (an InitPlan), not per row: as an anti-join, the planner probed spindle_type_pauses' key for
 * every due row read (its table never analyzed, it guessed rows in it). `range`: more conditions
 * on the index's columns; `limit`: the most rows.
 */
const claimSql = (range: string, limit: string): string => `SELECT ${LOADED_COLUMNS}, priority, next_run_at::float8 AS due FROM spindle_tasks t
  WHERE state = 'queued' AND NOT paused AND next_run_at <= $1 AND NOT (id = ANY($3::text[]))${range}
    AND type = ANY(ARRAY(SELECT u FROM unnest($2::text[]) AS u WHERE NOT EXISTS (SELECT 1 FROM spindle_type_pauses p WHERE p.type = u)))
  ORDER BY priority DESC, next_run_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED`;

/**
 * The claim as a function of the session, planned with sorting ruled out: the rows come in claim
 * order from spindle_tasks_claim, and the scan stops at the limit. Left to itself the planner
 * misjudges how many rows match (parameters, the pauses' filter) and reads every due task of the
 * types, then sorts them: a claim then costs as much as the backlog is long (15 ms at 10,000 due
 * tasks, where this takes 0.3). A function's settings are its own, so no other statement is
 * planned so; jit is off as a 'disabled' cost would otherwise turn it on. PL/pgSQL, not SQL: a SQL
 * function's statement was parsed and planned again at every call, where PL/pgSQL keeps its plan
 * for the session, generic (one plan whatever the parameters: the index order is the plan for any
 * of them). `use_column`: the output columns are named as the table's. A temporary function
 * (created by each connection, see PgDatabase.session) keeps the statement in this file. It needs
 * the TEMPORARY privilege on the database (PUBLIC has it unless revoked).
 *
 * Parameters: the claim horizon, the types, the ids this transaction looked at already, the
 * limit, and a cursor (priority, due, id; see ClaimCursors) or nulls. From a cursor the index is
 * read from it (the row comparison is the scan's start), then the lower priorities from their
 * front. Each row comes with its place in claim order (`priority`, `due`).
 */
export const CLAIM_FUNCTION_SQL = `CREATE FUNCTION pg_temp.spindle_claim(bigint, text[], text[], integer, integer, bigint, text)
  RETURNS TABLE (id text, record text, owner text, lease_until float8, version float8, priority integer, due float8) LANGUAGE plpgsql VOLATILE
  SET enable_sort = off SET jit = off SET plan_cache_mode = force_generic_plan
  AS $claim$ #variable_conflict use_column
  DECLARE n integer;
  BEGIN
    IF $5 IS NULL THEN RETURN QUERY ${claimSql('', '$4')}; RETURN; END IF;
    RETURN QUERY ${claimSql(' AND priority = $5 AND (next_run_at, id) > ($6, $7)', '$4')};
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n < $4 THEN RETURN QUERY ${claimSql(' AND priority < $5', '$4 - n')}; END IF;
  END $claim$`;
const CLAIM_CALL = 'SELECT * FROM pg_temp.spindle_claim($1, $2, $3, $4, $5, $6, $7)';

/*
 * The statements of the hot path are named (spindle_claim, spindle_next_due): each connection
 * parses and plans them once, not at every transaction (planning was a good part of the server's
 * time per transaction).
 */

/** Selects per pool at most this many times (a pool's types filling up, or misfires skipping ahead). */
const MAX_ROUNDS = 8;

/**
 * The rows each transaction's claims looked at so far, claimed or left: locked by this
 * transaction, they would be selected again, since SKIP LOCKED skips only the locks of others. Two
 * claims can share one transaction (a group commit takes whatever claims came in the same turn),
 * and a row the first one claimed is still `queued` on disk: the second would start it again.
 */
const lookedAtIn = new WeakMap<TaskWrite, string[]>();

function lookedAt(w: TaskWrite): string[] {
  let ids = lookedAtIn.get(w);
  if (ids === undefined) lookedAtIn.set(w, (ids = []));
  return ids;
}

export interface ClaimOptions {
  me: string;
  leaseMs: number;
  /** The claim horizon: tasks due by the transaction's instant + this are claimed (their runs held until due). */
  leadMs: number;
  /** Where a claim of these types starts (see ClaimCursors); undefined: from the index's front. */
  cursor(types: readonly string[]): ClaimKey | undefined;
}

/** How far a pool's claim took every task in claim order: where the next claim of `types` may start. */
export interface Reached {
  types: readonly string[];
  key: ClaimKey;
}

/** `versions[i]`: the version claims[i]'s row has once the claim is written (see LOADED_COLUMNS). */
type ClaimResult = { claims: Claim[]; versions: number[]; nextDue: number | null; reached: Reached[] };
type Taken = Omit<ClaimResult, 'nextDue'>;

/** The types with room left (a pool's, before its first round: the ones its cursor is kept for). */
const roomyTypes = (left: ReadonlyMap<string, number>): string[] => [...left].filter(([, n]) => n > 0).map(([t]) => t);

/** The claim function's parameters (see CLAIM_FUNCTION_SQL). */
function claimValues(w: TaskWrite, o: ClaimOptions, types: readonly string[], asked: number, cursor: ClaimKey | undefined): unknown[] {
  return [w.now + o.leadMs, types, lookedAt(w), asked, cursor?.priority ?? null, cursor?.due ?? null, cursor?.id ?? null];
}

/**
 * The claim as an op of a shared transaction, its first select said ahead (the first pool's
 * first round), so the transaction can send it with the other ops' first reads in one round trip.
 */
export function claimOp(request: ClaimRequest, o: ClaimOptions): Op<ClaimResult> {
  const op: Op<ClaimResult> = (client, w, rows) => claimDue(client, w, request, o, rows);
  const pool = request.pools[0];
  const types = pool === undefined ? [] : roomyTypes(pool.types);
  if (pool !== undefined && pool.free > 0 && types.length > 0) {
    op.read = {
      name: 'claim',
      text: CLAIM_CALL,
      values: (w) => claimValues(w, o, types, pool.free, o.cursor(types)),
      fetched: (w, fetched) => lookedAt(w).push(...fetched.map((r) => r.id as string)),
    };
  }
  return op;
}

/**
 * Claims in one transaction: per pool, the due tasks of its types, its free slots at most and each
 * type's limit at most; the start decision applied to each row in JS; the claimed rows owned by
 * this runtime with a lease from the transaction's instant. Resolves with the claims and, when
 * some slot stayed free, the next due time of these types (null: none). `first`: the first pool's
 * first round, already read.
 */
export async function claimDue(client: PoolClient, w: TaskWrite, request: ClaimRequest, o: ClaimOptions, first?: QueryResultRow[]): Promise<ClaimResult> {
  const taken: Taken = { claims: [], versions: [], reached: [] };
  let slack = false;
  for (const [i, pool] of request.pools.entries()) {
    if (!(await claimPool(client, w, request, pool, o, taken, i === 0 ? first : undefined))) slack = true;
  }
  if (!slack) return { ...taken, nextDue: null };
  const types = [...new Set(request.pools.flatMap((p) => [...p.types.keys()]))];
  const rows = (await client.query<{ due: number | null }>({ name: 'spindle_next_due', text: NEXT_DUE_SQL, values: [w.now + o.leadMs, types] })).rows;
  return { ...taken, nextDue: rows[0]?.due ?? null };
}

/**
 * Resolves true when the pool's slots (or its types' limits) were all used. The first round reads
 * from the pool's cursor; how far it took every row it read, in order, is where the next may.
 */
async function claimPool(client: PoolClient, w: TaskWrite, request: ClaimRequest, pool: ClaimPool, o: ClaimOptions, out: Taken, first?: QueryResultRow[]): Promise<boolean> {
  let free = pool.free;
  const typeLeft = new Map(pool.types);
  const seen = lookedAt(w);
  // Rows another claim of this transaction looked at are left out of this one's read: one it left
  // queued (over a type's limit) would be passed without being seen, so no cursor then.
  const alone = seen.length === (first?.length ?? 0);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const types = roomyTypes(typeLeft);
    if (free <= 0 || types.length === 0) return true;
    const asked = free;
    const rows = round === 0 && first !== undefined ? first
      : (await client.query({ name: 'spindle_claim', text: CLAIM_CALL, values: claimValues(w, o, types, asked, round === 0 ? o.cursor(types) : undefined) })).rows;
    // One holder for the rows claimed at one instant (the transaction's, which a row may move up).
    let holder: Holder | null = null;
    // The first round's rows, in claim order, all started so far: the last one's place.
    let inOrder = round === 0 && alone;
    let reached: ClaimKey | undefined;
    for (const row of rows) {
      const task = w.loaded(row);
      const type = task.rec.type;
      // Already in the list when the transaction read the rows ahead for this claim.
      if (rows !== first) seen.push(task.rec.id);
      const left = typeLeft.get(type) ?? 0;
      // Over its type's limit: left as it is (the lock goes at commit), and the cursor before it.
      if (left <= 0 || free <= 0) {
        inOrder = false;
        continue;
      }
      if (holder === null || holder.leaseUntil !== w.now + o.leaseMs) holder = { owner: o.me, leaseUntil: w.now + o.leaseMs };
      const run = w.apply(task, request.start, holder);
      // Not started: the decision may have left it queued where it is.
      if (run === null) {
        inOrder = false;
        continue;
      }
      if (inOrder) reached = { priority: row.priority as number, due: row.due as number, id: task.rec.id };
      out.claims.push({ rec: task.rec, run });
      out.versions.push((row.version as number) + 1);
      free--;
      typeLeft.set(type, left - 1);
    }
    if (reached !== undefined) out.reached.push({ types, key: reached });
    // Fewer than asked: nothing more of these types is due.
    if (rows.length < asked) return free <= 0;
  }
  return free <= 0;
}
