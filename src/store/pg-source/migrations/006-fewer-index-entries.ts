/**
 * Migration 6: fewer index entries per task.
 *
 * A task's row is written three times a run (placed, claimed, ended), and the claim and the end
 * change `state`, so neither is a HOT update: each adds an entry to every index whose predicate
 * the new version meets. Their upkeep was about a third of the server's time per run; from 12
 * entries a run besides the primary key's, this leaves 6.
 *
 * - spindle_tasks_type goes: one type's tasks newest first are read from spindle_tasks_type_state,
 *   one range per state merged by id (pg-reader.ts): a page in 0.1-0.2 ms at 1,000,000 tasks.
 * - spindle_tasks_state goes, but for the spooled tasks, which the runtime looks for at its start
 *   (a submit places its task in the same write, so a row is seldom written spooled). The tasks
 *   of one state are listed one spindle_tasks_type_state range per type, merged; the running ones
 *   the runtime looks for (its own, leases run out) are read from spindle_tasks_lease, as before.
 *
 * The new index is built first, under a SHARE lock (writes wait, reads go on) while it reads the
 * table once: about 0.2 s at 1,000,000 tasks. The drops then hold the table exclusively until the
 * commit, which unlinks their files: about 0.05 s.
 */
export const FEWER_INDEX_ENTRIES_SQL = `
CREATE INDEX spindle_tasks_spooled ON spindle_tasks (id) WHERE state = 'spooled';
DROP INDEX spindle_tasks_state;
DROP INDEX spindle_tasks_type;
`;
