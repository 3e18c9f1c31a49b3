/**
 * Migration 7: the text columns the indexes compare, compared bytewise (COLLATE "C"); a minute's
 * counts added by a function.
 *
 * Under the database's collation (a libc one such as C.UTF-8 or en_US.UTF-8) every comparison of
 * two index keys went through strcoll and the locale lookups around it: a visible share of the
 * server's time per task, spent on ids, types and states whose order is bytewise by design (ids
 * sort by creation time as bytes, as LevelDB orders them). "C" compares them with memcmp, and
 * lists, claims and pages order the same on every database whatever its default collation.
 * Equality (texteq) was bytewise already; only orderings change, and only on a database whose
 * collation did not sort them bytewise already (C.UTF-8 does).
 *
 * The tables are not rewritten (text stays text); each index on a changed column is built again,
 * under an ACCESS EXCLUSIVE lock on each table until the commit: 4-6 s at 1,000,000 tasks and as
 * many earlier runs (2 loaded cores), reads and writes waiting meanwhile.
 *
 * spindle_add_minute is addMinute (src/api/series.ts) in SQL: the stored minute `s` plus the delta
 * `d`, as every shared transaction's spindle_series write adds them (derived-rows.ts). Written
 * into that statement, the expression and its sub-selects were parsed, analysed and planned at
 * every commit (the statement goes by the simple protocol, with the COMMIT): a few percent of the
 * server's time on a no-op run. A PL/pgSQL function's statement is planned once a session.
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

CREATE FUNCTION spindle_add_histogram(s json, d json) RETURNS json LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $add$
BEGIN
  RETURN json_build_object(
    'n', (s->>'n')::float8 + (d->>'n')::float8,
    'sum', (s->>'sum')::float8 + (d->>'sum')::float8,
    'b', (SELECT json_agg(coalesce(a.x::float8, 0) + coalesce(b.x::float8, 0) ORDER BY i)
      FROM json_array_elements_text(s->'b') WITH ORDINALITY AS a (x, i)
      FULL JOIN json_array_elements_text(d->'b') WITH ORDINALITY AS b (x, i) USING (i)));
END $add$;
CREATE FUNCTION spindle_add_minute(s json, d json) RETURNS json LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $add$
BEGIN
  RETURN json_build_object(
    'started', (s->>'started')::float8 + (d->>'started')::float8,
    'ended', (SELECT coalesce(json_object_agg(k, n), '{}') FROM (SELECT k, sum(v::float8) AS n FROM (
      SELECT * FROM json_each_text(s->'ended') UNION ALL SELECT * FROM json_each_text(d->'ended')) AS e (k, v) GROUP BY k) AS t),
    'run', spindle_add_histogram(s->'run', d->'run'),
    'wait', spindle_add_histogram(s->'wait', d->'wait'));
END $add$;
`;
