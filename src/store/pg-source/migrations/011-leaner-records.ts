/**
 * Migration 11: task records written in record-codec's layout 2 (src/store/record-codec.ts): times
 * as differences from the task's createdAt, history entries without the state they left, the last
 * run without the task's id. A one-shot task's record is about 330 bytes instead of 510, and every
 * run writes it three times (placed, claimed, ended), each a whole new row version in the table
 * and the WAL.
 *
 * Nothing in the database changes: records of layout 1 stay until their task's next write, and
 * this code reads both. The migration is the schema version a runtime checks, so that one of an
 * earlier version, which would misread layout 2, refuses this database (STORE_INVALID).
 */
export const LEANER_RECORDS_SQL = `
COMMENT ON COLUMN spindle_tasks.record IS 'the task as record-codec''s JSON array; its first element is the layout (1 or 2)';
`;
