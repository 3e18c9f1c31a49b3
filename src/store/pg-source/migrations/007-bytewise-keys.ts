/**
 * Migration 7: the text columns the indexes compare, compared bytewise (COLLATE "C").
 *
 * Under the database's collation (a libc one such as C.UTF-8 or en_US.UTF-8) every comparison of
 * two index keys went through strcoll and the locale lookups around it: a visible share of the
 * server's time per task, spent on ids, types and states whose order is bytewise by design (ids
 * sort by creation time as bytes, as LevelDB orders them). "C" compares them with memcmp, and
 * lists, claims and pages order the same on every database whatever its default collation.
 * Equality (texteq) was bytewise already; only orderings change, and only on a database whose
 * collation did not sort these ASCII keys bytewise.
 *
 * The tables are not rewritten (text stays text); each index on a changed column is built again,
 * and the foreign keys to spindle_tasks (id) are checked again, under an ACCESS EXCLUSIVE lock on
 * each table until the commit: about N s at 1,000,000 tasks (see the README's PostgreSQL notes).
 */
export const BYTEWISE_KEYS_SQL = `
ALTER TABLE spindle_tasks
  ALTER COLUMN id TYPE text COLLATE "C",
  ALTER COLUMN type TYPE text COLLATE "C",
  ALTER COLUMN state TYPE text COLLATE "C",
  ALTER COLUMN key TYPE text COLLATE "C",
  ALTER COLUMN owner TYPE text COLLATE "C";
ALTER TABLE spindle_runs ALTER COLUMN task_id TYPE text COLLATE "C";
ALTER TABLE spindle_history ALTER COLUMN task_id TYPE text COLLATE "C";
ALTER TABLE spindle_error_words ALTER COLUMN word TYPE text COLLATE "C", ALTER COLUMN task_id TYPE text COLLATE "C";
ALTER TABLE spindle_counts ALTER COLUMN type TYPE text COLLATE "C", ALTER COLUMN state TYPE text COLLATE "C";
ALTER TABLE spindle_series ALTER COLUMN type TYPE text COLLATE "C";
ALTER TABLE spindle_type_pauses ALTER COLUMN type TYPE text COLLATE "C";
`;
