/**
 * Migration 1: tasks, their earlier runs and their spilled history.
 *
 * The fields the queries select and order by are columns; the whole record is `json` (kept as the
 * text written, not `jsonb`: nothing queries inside it, `json` stores the text without re-encoding
 * it and takes every string JSON can hold, \u0000 included). Times are ms since the epoch.
 * `key` holds the idempotency key only while it is held (see heldKeyOf in src/store/keys.ts), so
 * its unique index is the store's answer to "who holds this key". `owner`, `lease_until` and
 * `run` are the claim: the runtime running the task, until when its lease holds (database time),
 * and the run number every completion is fenced by.
 */
export const TASKS_SQL = `
CREATE TABLE spindle_tasks (
  id text PRIMARY KEY,
  type text NOT NULL,
  state text NOT NULL,
  paused boolean NOT NULL,
  priority integer NOT NULL,
  next_run_at bigint,
  key text,
  key_expires_at bigint,
  expires_at bigint,
  owner text,
  lease_until bigint,
  run integer NOT NULL,
  updated_at bigint NOT NULL,
  record json NOT NULL
);

-- Claims: the due tasks in claim order. Pending and the next due time: the same tasks by due time.
CREATE INDEX spindle_tasks_claim ON spindle_tasks (priority DESC, next_run_at, id)
  WHERE state = 'queued' AND NOT paused AND next_run_at IS NOT NULL;
CREATE INDEX spindle_tasks_due ON spindle_tasks (next_run_at, id)
  WHERE state = 'queued' AND NOT paused AND next_run_at IS NOT NULL;

CREATE UNIQUE INDEX spindle_tasks_key ON spindle_tasks (key) WHERE key IS NOT NULL;
CREATE INDEX spindle_tasks_key_expiry ON spindle_tasks (key_expires_at) WHERE key_expires_at IS NOT NULL;
CREATE INDEX spindle_tasks_expiry ON spindle_tasks (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX spindle_tasks_lease ON spindle_tasks (lease_until) WHERE state = 'running';
CREATE INDEX spindle_tasks_owner ON spindle_tasks (owner) WHERE state = 'running';

-- Lists, newest first (ids sort by creation time).
CREATE INDEX spindle_tasks_state ON spindle_tasks (state, id);
CREATE INDEX spindle_tasks_type ON spindle_tasks (type, id);
CREATE INDEX spindle_tasks_type_state ON spindle_tasks (type, state, id);

CREATE TABLE spindle_runs (
  task_id text NOT NULL REFERENCES spindle_tasks (id) ON DELETE CASCADE,
  run integer NOT NULL,
  record json NOT NULL,
  PRIMARY KEY (task_id, run)
);

CREATE TABLE spindle_history (
  task_id text NOT NULL REFERENCES spindle_tasks (id) ON DELETE CASCADE,
  chunk integer NOT NULL,
  entries json NOT NULL,
  PRIMARY KEY (task_id, chunk)
);
`;
