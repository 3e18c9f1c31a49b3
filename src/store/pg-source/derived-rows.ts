import type { PoolClient } from 'pg';
import type { SeriesDelta } from '../store.js';
import { withCommit } from './pg-database.js';

/** One word of a task's error, as spindle_error_words holds it. */
export interface ErrorWord {
  word: string;
  taskId: string;
}

export async function insertErrorWords(client: PoolClient, words: readonly ErrorWord[]): Promise<void> {
  if (words.length === 0) return;
  await client.query(`INSERT INTO spindle_error_words (word, task_id) SELECT * FROM unnest($1::text[], $2::text[])
    ON CONFLICT DO NOTHING`, [words.map((w) => w.word), words.map((w) => w.taskId)]);
}

export async function deleteErrorWords(client: PoolClient, words: readonly ErrorWord[]): Promise<void> {
  if (words.length === 0) return;
  await client.query(`DELETE FROM spindle_error_words e USING unnest($1::text[], $2::text[]) AS d (word, task_id)
    WHERE e.word = d.word AND e.task_id = d.task_id`, [words.map((w) => w.word), words.map((w) => w.taskId)]);
}

/**
 * Rows each type's minute is striped over (migration 4): a transaction adds to one slot, picked at
 * random, so concurrent commits rarely wait for each other's; a read sums at most this many rows a
 * minute.
 */
export const SERIES_SLOTS = 16;

/**
 * Adds a transaction's per-minute deltas to the stored rows, in one statement sent with the
 * COMMIT: a missing row is made from the delta, an existing one is added to by the database
 * (spindle_add_minute, migration 7: addMinute in SQL). ON CONFLICT DO UPDATE locks the row, so a
 * second writer of the same slot waits and adds to the first one's sum. A writer holds its rows locked until its commit, so the statement goes in the
 * commit's round trip: from lock to commit without a trip to the client. Rows go in (type, minute)
 * order, so two writers never wait on each other's rows in a cycle. Values are literals (the
 * simple protocol takes no parameters). `slot`: the stripe written (see SERIES_SLOTS).
 */
export function addSeries(client: PoolClient, deltas: ReadonlyMap<string, SeriesDelta>, slot = 0): void {
  if (deltas.size === 0) return;
  const sorted = [...deltas.values()].sort((a, b) => (a.type === b.type ? a.minute - b.minute : a.type < b.type ? -1 : 1));
  const values = sorted.map((d) => `(${client.escapeLiteral(d.type)}, ${Math.trunc(d.minute)}, ${Math.trunc(slot)}, ${client.escapeLiteral(JSON.stringify(d.counts))}::json)`);
  withCommit(client, `INSERT INTO spindle_series AS s (type, minute, slot, counts) VALUES ${values.join(', ')}
    ON CONFLICT (type, minute, slot) DO UPDATE SET counts = spindle_add_minute(s.counts, excluded.counts)`);
}
