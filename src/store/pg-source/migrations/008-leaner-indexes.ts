/**
 * Migration 8: two index entries fewer per task.
 *
 * A run writes its task's row three times (placed, claimed, ended), none of them a HOT update
 * (`state` is in every index's key or predicate), so each version adds an entry to every index
 * whose predicate it meets: 9 a run before this, 7 after.
 *
 * - spindle_tasks_due goes: it held the same tasks as spindle_tasks_claim, in due order. A due
 *   page and the next due time are read from spindle_tasks_claim, one range per priority (each in
 *   due order), merged; the priorities are read from that index too, one probe each (pg-reader.ts,
 *   claims.ts).
 * - spindle_tasks_type_state leaves the running tasks out: the claim added an entry to it. The
 *   running tasks are listed from spindle_tasks_lease (as many as the runtimes run at once), sorted.
 *
 * TIMING
 */
export const LEANER_INDEXES_SQL = `
CREATE INDEX spindle_tasks_type_state_idle ON spindle_tasks (type, state, id) WHERE state <> 'running';
DROP INDEX spindle_tasks_type_state;
ALTER INDEX spindle_tasks_type_state_idle RENAME TO spindle_tasks_type_state;
DROP INDEX spindle_tasks_due;
`;
