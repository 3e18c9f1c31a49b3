import type { PoolClient } from 'pg';
import { addMinute, emptyMinute } from '../../api/series.js';
import { readable } from '../series-rows.js';
import type { SeriesDelta } from '../store.js';

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
 * Adds a transaction's per-minute deltas to the stored rows. Every runtime adds to the same rows,
 * so each is locked for the read-add-write: made if missing (a second maker waits, then finds it),
 * then read FOR UPDATE and written back. Rows go in (type, minute) order, and last in the
 * transaction, so two writers never wait on each other's rows in a cycle.
 */
export async function addSeries(client: PoolClient, deltas: ReadonlyMap<string, SeriesDelta>): Promise<void> {
  if (deltas.size === 0) return;
  const sorted = [...deltas.values()].sort((a, b) => (a.type === b.type ? a.minute - b.minute : a.type < b.type ? -1 : 1));
  const types = sorted.map((d) => d.type);
  const minutes = sorted.map((d) => d.minute);
  const empty = JSON.stringify(emptyMinute());
  await client.query(`INSERT INTO spindle_series (type, minute, counts) SELECT t, m, $3::json FROM unnest($1::text[], $2::bigint[]) AS u (t, m)
    ON CONFLICT DO NOTHING`, [types, minutes, empty]);
  const { rows } = await client.query<{ type: string; minute: number; counts: string }>(`SELECT s.type, s.minute::float8 AS minute, s.counts::text AS counts
    FROM spindle_series s JOIN unnest($1::text[], $2::bigint[]) AS u (t, m) ON s.type = u.t AND s.minute = u.m
    ORDER BY s.type, s.minute FOR UPDATE OF s`, [types, minutes]);
  const stored = new Map(rows.map((r) => [`${r.type}\n${r.minute}`, r.counts]));
  const next = sorted.map((d) => JSON.stringify(addMinute(readable(stored.get(`${d.type}\n${d.minute}`)), d.counts)));
  await client.query(`UPDATE spindle_series s SET counts = u.c FROM unnest($1::text[], $2::bigint[], $3::json[]) AS u (t, m, c)
    WHERE s.type = u.t AND s.minute = u.m`, [types, minutes, next]);
}
