/**
 * Migration 5: task records as record-codec's arrays (src/store/record-codec.ts, the LevelDB
 * layout), kept as text.
 *
 * A record is written three times a run (placed, started, ended) and read twice (claimed, ended):
 * keyed objects were twice the bytes to encode, send, log to the WAL and parse, and `json` had the
 * server lex every record at every write (json_lex was the largest share of its time on a no-op
 * run). Nothing queries inside a record, so `text` checks nothing: the runtime writes what it
 * reads. Records written before stay keyed objects until their next write (taskOfColumn in
 * rows.ts reads both); a runtime of an earlier schema refuses this one, so none misreads an array.
 *
 * `version` counts a task's writes (every update adds one): a runtime that holds the record it
 * wrote at a claim reads the row's version at the run's end instead of the record again, and the
 * record only when another write came between.
 */
export const COMPACT_RECORDS_SQL = `
ALTER TABLE spindle_tasks ALTER COLUMN record TYPE text USING record::text, ADD COLUMN version bigint NOT NULL DEFAULT 0;
`;
