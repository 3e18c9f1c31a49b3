/**
 * Migration 6: fewer index entries per task.
 *
 * Every write of a task's row that moves an indexed column (its claim and its end change `state`,
 * so none is a HOT update) adds an entry to every index of spindle_tasks whose predicate it meets:
 * index upkeep was the largest share of the server's time per run.
 *
 * spindle_tasks_type goes: a list of one type newest first reads spindle_tasks_type_state once per
 * state and merges the seven ranges by id (see pg-reader.ts), as fast for a first page or the next.
 * spindle_tasks_state keeps the open tasks only (the ended ones are most of the table and were
 * an entry more at every run's end): ended tasks of a state are listed by type, one
 * spindle_tasks_type_state range per type that has any (spindle_counts), merged by id.
 *
 * The new index is built before the old ones go, so the table is only read-locked (SHARE: writes
 * wait, reads go on) while it is built; the drops take an exclusive lock for the rest of the
 * transaction, which is then short.
 */
export const FEWER_INDEX_ENTRIES_SQL = `
CREATE INDEX spindle_tasks_open ON spindle_tasks (state, id) WHERE state NOT IN ('finished', 'failed', 'terminated');
DROP INDEX spindle_tasks_state;
DROP INDEX spindle_tasks_type;
DROP INDEX spindle_tasks_lease;
`;
