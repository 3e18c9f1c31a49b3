/**
 * Migration 4: less to write per run.
 *
 * spindle_series rows are striped as the counts are (see SERIES_SLOTS in derived-rows.ts): every
 * shared transaction adds to its type's row of the minute and holds it to its commit, so with one
 * row per minute the commits of all the runtimes' transactions queued behind each other on it,
 * each waiting out the one before's WAL flush. A minute's counts are the sum of its slots; the
 * rows there are become slot 0.
 *
 * spindle_tasks_owner goes: every claim wrote an entry to it, and what read it (a runtime's own
 * runs at its start and close, the lease renewals) is served by the key and spindle_tasks_lease.
 */
export const LEANER_WRITES_SQL = `
ALTER TABLE spindle_series ADD COLUMN slot smallint NOT NULL DEFAULT 0;
ALTER TABLE spindle_series DROP CONSTRAINT spindle_series_pkey;
ALTER TABLE spindle_series ADD PRIMARY KEY (type, minute, slot);
ALTER TABLE spindle_series SET (fillfactor = 50);

DROP INDEX spindle_tasks_owner;
`;
