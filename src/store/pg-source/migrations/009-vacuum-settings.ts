/**
 * Migration 9: spindle_tasks autovacuumed once 10,000 of its row versions are dead, not once a
 * fifth of the table is.
 *
 * A claim reads spindle_tasks_claim from its front. A claimed task's queued entry stays there until
 * VACUUM removes it: an index scan marks it dead but still reads its page, and only an insert into
 * that page reuses it. While the runtime keeps up, new tasks land on the page the claims just left
 * and nothing builds up (500 tasks/s on 1,000,000 kept tasks: 15 buffers, 0.08 ms a claim, at
 * 235,000 dead row versions). A backlog drained (a burst of 80,000 tasks) leaves its entries'
 * pages in front of every later task: each claim, and each first page of due tasks
 * (spindle_tasks_due), then read 590 buffers (1 ms) until a vacuum. PostgreSQL's default starts
 * one at 50 + 0.2 × the table's rows dead (autovacuum_vacuum_scale_factor): each run leaves two
 * dead versions, so 100,000 tasks after the burst at 1,000,000 kept tasks (not within 5 minutes
 * at 100 tasks/s), 1,000,000 at 10,000,000.
 *
 * From this threshold on, a table with autovacuum on (the server's setting, which no table's can
 * override) is vacuumed at the launcher's next visit (autovacuum_naptime, a minute by default):
 * in the same run that vacuum came 20 s after the burst was drained, took 2.2 s (0.5 s of CPU)
 * and left the claim 3 buffers, 0.06 ms; the ones after, a minute apart while 100 tasks/s ran,
 * took 0.1-1.1 s (0.05-0.27 s of CPU). A vacuum that finds dead rows on under 2% of the table's
 * pages leaves the indexes for a later one (index_cleanup auto). A stream faster than the
 * threshold a minute is bounded by the naptime, whatever the table's settings: 3,500-4,500
 * tasks/s, a backlog always waiting, left the claim 900-1,400 buffers on average, and a vacuum
 * running a fifth to half of the time.
 *
 * ALTER TABLE … SET takes a SHARE UPDATE EXCLUSIVE lock (reads and writes go on) and rewrites
 * nothing. An operator's own values win: ALTER TABLE spindle_tasks SET (…) or RESET (…) after
 * this migration stays as set.
 */
export const VACUUM_SETTINGS_SQL = `
ALTER TABLE spindle_tasks SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
`;
