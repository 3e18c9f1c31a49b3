/** The tasks a claim may take (spindle_tasks_claim's predicate): queued, not paused, with a due time. */
export const DISPATCHABLE = "state = 'queued' AND NOT paused AND next_run_at IS NOT NULL";

/**
 * The priorities of the dispatchable tasks, lowest first, as a recursive CTE `priorities
 * (priority)` (the statement starts WITH RECURSIVE): one probe of spindle_tasks_claim each (a loose
 * index scan) and one more that finds none, whatever the number of tasks. Its last row is NULL.
 * Each probe lands at the end of a priority's range (its latest due time, read backward), not at
 * its front: the entries of claimed tasks stay at the front until VACUUM, and a probe from there
 * stepped over all of them (40 ms at 150,000, where this takes 0.3). A range all of whose entries
 * are claimed tasks' (a drained queue, before VACUUM) is still stepped over whole, as the claim
 * steps over it: in a no-op run this costs about 1.4 buffer reads per task of the 3-4 the dropped
 * index's entry cost.
 *
 * Due order is read from spindle_tasks_claim (priority DESC, next_run_at, id), one range per
 * priority, each in due order: migration 8 dropped the index of the same tasks in due order, an
 * entry at every task's placing. Priorities are few in practice (a handful), so a read costs a
 * few probes more than one range would.
 */
export const PRIORITIES = `priorities (priority) AS (
    (SELECT priority FROM spindle_tasks WHERE ${DISPATCHABLE} ORDER BY priority, next_run_at DESC, id DESC LIMIT 1)
    UNION ALL SELECT (SELECT t.priority FROM spindle_tasks t WHERE ${DISPATCHABLE} AND t.priority > p.priority
      ORDER BY t.priority, t.next_run_at DESC, t.id DESC LIMIT 1)
      FROM priorities p WHERE p.priority IS NOT NULL)`;

/**
 * A page of due entries in due order (next_run_at, id): per priority the first `limit` ($1) in
 * `after`'s range (SQL that follows a WHERE … AND on alias t, or nothing), merged. A sort of
 * `limit` entries per priority, never of the due tasks.
 */
export function duePage(after: string): string {
  return `WITH RECURSIVE ${PRIORITIES}
    SELECT x.id, x.next_run_at::float8 AS due FROM priorities p CROSS JOIN LATERAL (
      SELECT t.id, t.next_run_at FROM spindle_tasks t WHERE ${DISPATCHABLE} AND t.priority = p.priority ${after}
      ORDER BY t.next_run_at, t.id LIMIT $1) AS x
    ORDER BY x.next_run_at, x.id LIMIT $1`;
}

/** The first due time after $1 of the types $2, null when none: per priority its range's first of these types. */
export const NEXT_DUE_SQL = `WITH RECURSIVE ${PRIORITIES}
  SELECT min(x.due)::float8 AS due FROM priorities p CROSS JOIN LATERAL (
    SELECT t.next_run_at AS due FROM spindle_tasks t
    WHERE ${DISPATCHABLE} AND t.priority = p.priority AND t.next_run_at > $1 AND t.type = ANY($2::text[])
    ORDER BY t.next_run_at LIMIT 1) AS x`;
