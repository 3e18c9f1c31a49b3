/**
 * Migration 10: a task's runs, history and error words deleted by the statement that deletes it,
 * not by foreign-key cascades.
 *
 * ON DELETE CASCADE ran three trigger queries per deleted task (one per child table, each planned
 * and run on its own through SPI): deleting 256 expired tasks cost 33-38 µs of the server's CPU a
 * task, almost all of it in those triggers, against 1.5-2 µs for the same DELETE without them
 * (2,048 tasks: 61 ms with them, 6-11 ms without, the child tables' deletes included). The
 * retention sweep deletes every task that is not kept forever, so every task paid it once.
 * deleteTasks (rows.ts) now deletes the child rows by their task-id indexes in the same statement.
 *
 * The keys guarded nothing the writes do not: a task's child rows are written only by a
 * transaction that holds its row (it updated or inserted it), and a task is deleted only under
 * that lock too (the sweep's FOR UPDATE SKIP LOCKED, an operator's delete's FOR UPDATE), so no
 * child row can be added to a task being deleted. Dropping a constraint takes an ACCESS EXCLUSIVE
 * lock on both tables for the moment it takes (no scan, no rewrite).
 */
export const EXPLICIT_DELETES_SQL = `
ALTER TABLE spindle_runs DROP CONSTRAINT spindle_runs_task_id_fkey;
ALTER TABLE spindle_history DROP CONSTRAINT spindle_history_task_id_fkey;
ALTER TABLE spindle_error_words DROP CONSTRAINT spindle_error_words_task_id_fkey;
`;
