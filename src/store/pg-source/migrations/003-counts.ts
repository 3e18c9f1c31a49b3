/**
 * Migration 3: the tasks per type, state and paused flag, kept as rows so that stats and maxQueued
 * read a few rows instead of counting the tasks.
 *
 * Every transaction that moves a count adds its moves to these rows, so one row per count would
 * make every writer of a type wait for the one before it to commit. Each count is striped over
 * slots instead (a transaction adds to one slot, picked at random; see COUNT_SLOTS in
 * pg-counts.ts): the count is the sum of its slots. `paused` is pausedOf (src/store/keys.ts):
 * only open tasks count as paused. The backfill counts the tasks as they are, under a lock that
 * holds off writers until this transaction commits.
 */
export const COUNTS_SQL = `
CREATE TABLE spindle_counts (
  type text NOT NULL,
  state text NOT NULL,
  paused boolean NOT NULL,
  slot smallint NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (type, state, paused, slot)
) WITH (fillfactor = 50); -- room on each page for its rows' next versions: an update stays on the page (HOT)

LOCK TABLE spindle_tasks IN SHARE MODE;
INSERT INTO spindle_counts (type, state, paused, slot, n)
  SELECT type, state, paused AND state IN ('spooled', 'queued', 'running'), 0, count(*)
  FROM spindle_tasks GROUP BY 1, 2, 3;
`;
