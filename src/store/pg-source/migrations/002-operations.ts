/**
 * Migration 2: what the operators' and the dashboard's reads need beside the tasks.
 *
 * spindle_series: one type's runs in one minute (MinuteCounts as json), added to in the
 * transaction that starts or ends the runs it counts. spindle_type_pauses: the types an operator
 * paused (claims leave their tasks out). spindle_error_words: a failed or timed-out task by each
 * word of its last error (as search-keys.ts indexes them), written with the task and deleted with
 * it, so a search by error word reads an index range, never the tasks. The paused-task index
 * serves `list --paused` and stays as small as the paused open tasks.
 */
export const OPERATIONS_SQL = `
CREATE TABLE spindle_series (
  type text NOT NULL,
  minute bigint NOT NULL,
  counts json NOT NULL,
  PRIMARY KEY (type, minute)
);
CREATE INDEX spindle_series_minute ON spindle_series (minute);

CREATE TABLE spindle_type_pauses (
  type text PRIMARY KEY
);

CREATE TABLE spindle_error_words (
  word text NOT NULL,
  task_id text NOT NULL REFERENCES spindle_tasks (id) ON DELETE CASCADE,
  PRIMARY KEY (word, task_id)
);
CREATE INDEX spindle_error_words_task ON spindle_error_words (task_id);

CREATE INDEX spindle_tasks_paused ON spindle_tasks (id)
  WHERE paused AND state IN ('spooled', 'queued', 'running');
`;
