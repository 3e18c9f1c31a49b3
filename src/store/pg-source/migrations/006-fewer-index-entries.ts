/**
 * Migration 6: fewer index entries per task.
 *
 * A task's row is written three times a run (placed, claimed, ended), and the claim and the end
 * change `state`, so neither is a HOT update: each adds an entry to every index whose predicate
 * the new version meets. Index upkeep was the largest share of the server's time per run; from
 * 12 entries a run besides the primary key's, this leaves 6.
 *
 * - spindle_tasks_type goes: one type's tasks newest first are read from spindle_tasks_type_state,
 *   one range per state merged by id (pg-reader.ts), a page about as fast as from its own index.
 * - spindle_tasks_state becomes spindle_tasks_in_flight: the spooled and running tasks only, which
 *   the runtime scans (spooled at start; running for its own runs and for leases run out). The
 *   tasks of another state are listed one spindle_tasks_type_state range per type, merged.
 * - spindle_tasks_lease goes: every claim wrote an entry to it, and the lease sweep reads the
 *   running tasks (a runtime's slots at most each) from spindle_tasks_in_flight. Lease renewals
 *   then move no indexed column, and can be HOT.
 *
 * The new index is built first, under a SHARE lock (writes wait, reads go on: about 0.75 s at
 * 1,000,000 tasks); the drops then hold the table exclusively until the commit, a few ms.
 */
export const FEWER_INDEX_ENTRIES_SQL = `
CREATE INDEX spindle_tasks_in_flight ON spindle_tasks (state, id) WHERE state IN ('spooled', 'running');
DROP INDEX spindle_tasks_state;
DROP INDEX spindle_tasks_type;
DROP INDEX spindle_tasks_lease;
`;
