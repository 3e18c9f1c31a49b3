/**
 * Migration 8: fewer index entries per task.
 *
 * A task's row is written three times a run (placed, claimed, ended), none of them a HOT update
 * (`state` is in an index's key or predicate), so each version adds an entry to every index whose
 * predicate it meets: 9 a run before this (placed: the primary key, claim, due and type-state
 * indexes; claimed: the primary key, type-state and lease indexes; ended: the primary key and
 * type-state), 7 after. Index upkeep was the largest share of the server's time per task.
 *
 * - spindle_tasks_due goes: it held the tasks of spindle_tasks_claim, in due order. A due page and
 *   the next due time of some types are read from spindle_tasks_claim, one range per priority in
 *   due order, merged; its priorities are read from it too, one probe each (due-order.ts): a page
 *   of 200 in about 1 ms at 530,000 due tasks over 5 priorities, the next due time in 0.1-0.7 ms.
 * - spindle_tasks_type_state leaves the running tasks out, so a claim adds no entry to it. They
 *   are read from spindle_tasks_lease (as many as the runtimes run at once) and sorted by id
 *   (pg-reader.ts): 0.2-0.3 ms for 200 running tasks.
 *
 * The new type-state index is built first, under a SHARE lock (writes wait, reads go on) while it
 * reads the table once: 4-7 s at 1,000,000 tasks (2 loaded cores). The drops then hold the table
 * exclusively until the commit, which unlinks their files: about 0.05 s.
 */
export const LEANER_INDEXES_SQL = `
CREATE INDEX spindle_tasks_type_state_idle ON spindle_tasks (type, state, id) WHERE state <> 'running';
DROP INDEX spindle_tasks_type_state;
ALTER INDEX spindle_tasks_type_state_idle RENAME TO spindle_tasks_type_state;
DROP INDEX spindle_tasks_due;
`;
