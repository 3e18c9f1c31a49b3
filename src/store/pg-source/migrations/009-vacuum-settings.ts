/**
 * Migration 9: spindle_tasks autovacuumed once 10,000 of its row versions are dead, not once a
 * fifth of the table is.
 *
 * A claim reads spindle_tasks_claim from its front. A claimed task's queued entry stays there until
 * VACUUM removes it: an index scan marks it dead but still reads its page, and only an insert into
 * that page reuses it. While the runtime keeps up, new tasks land on the page the claims just left
 * and nothing builds up (500 tasks/s on 1,000,000 kept tasks: 15-25 buffers, 0.08 ms a claim, with
 * 235,000 dead row versions waiting). A backlog drained (a burst of 80,000 tasks) leaves its
 * entries' pages in front of every later task: each claim, and each first page of due tasks,
 * then read 590 buffers (1 ms) until a vacuum (measured on schema 7). PostgreSQL's default starts one
 * at 50 + 0.2 × the table's rows dead (autovacuum_vacuum_scale_factor), and each run leaves two dead
 * versions: at 1,000,000 kept tasks about 100,000 runs later (none came in the 4 minutes after that
 * burst at 100 tasks/s), at 10,000,000 a million.
 *
 * With this threshold a table is vacuumed at autovacuum's next round (autovacuum_naptime, a minute
 * by default; autovacuum must be on at the server, which no table's setting overrides): after that
 * burst the vacuum took 2.2 s (0.5 s of CPU) and left the claim 3 buffers, 0.06 ms; the ones after,
 * a minute apart at 100 tasks/s, 0.1-1.1 s (0.05-0.3 s of CPU). A vacuum finding dead rows on
 * under 2% of the table's pages leaves the indexes to a later one (index_cleanup auto). A stream
 * with a backlog always waiting, faster than the threshold a round, is bounded by the naptime
 * whatever the table's settings: at 2,700-4,200 no-op tasks/s a claim read 730-1,360 buffers on
 * average, default or not, and 220 with a naptime of 10 s (a vacuum every 10 s, 0.3-0.5 s of CPU).
 *
 * ALTER TABLE … SET takes a SHARE UPDATE EXCLUSIVE lock (reads and writes go on) and rewrites
 * nothing. An operator's own values win: ALTER TABLE spindle_tasks SET (…) or RESET (…) after
 * this migration stays as set.
 */
export const VACUUM_SETTINGS_SQL = `
ALTER TABLE spindle_tasks SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
`;
