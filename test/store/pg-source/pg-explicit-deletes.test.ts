import { describe, expect, it } from 'vitest';
import { pgTestBed, startPgRuntime } from '../../helpers/pg-supervisor.js';
import { waitForState } from '../../helpers/runtime.js';

/** A database of its own per test, and the runtimes it starts there (stopped, then dropped, after it). */
const bed = pgTestBed();

const CHILD_ROWS = `SELECT (SELECT count(*) FROM spindle_runs) + (SELECT count(*) FROM spindle_history)
  + (SELECT count(*) FROM spindle_error_words) AS n`;

describe('deleting tasks on PostgreSQL (schema migration 10: no cascading keys)', () => {
  it('the tables hold no foreign keys: a deleted task\'s rows go by the statement that deletes it', async () => {
    const r = await startPgRuntime(bed.db.url);
    bed.runtimes.push(r);
    const keys = await r.db.query<{ conname: string }>(`SELECT conname FROM pg_constraint WHERE contype = 'f'
      AND conrelid IN ('spindle_runs'::regclass, 'spindle_history'::regclass, 'spindle_error_words'::regclass)`);
    expect(keys).toEqual([]);
  });

  it('the retention sweep deletes expired tasks with their earlier runs, spilled history and error words, and leaves the kept ones\' rows', async () => {
    const r = await startPgRuntime(bed.db.url, { retentionMs: 60_000 });
    bed.runtimes.push(r);
    // Two tries that fail: an earlier run in spindle_runs, the last error's words in spindle_error_words.
    const failed = await Promise.all(Array.from({ length: 5 }, () => r.supervisor.submit({ type: 'flaky', params: { succeedOn: 9 }, maxTries: 2 })));
    const kept = await r.supervisor.submit({ type: 'flaky', params: { succeedOn: 9 }, maxTries: 2 });
    for (const t of [...failed, kept]) expect((await waitForState(r.supervisor, t.id)).state).toBe('failed');
    // Spilled history, as a long-lived task leaves it.
    await r.db.query(`INSERT INTO spindle_history SELECT id, 0, '[]' FROM spindle_tasks`);
    const rowsOf = async (ids: string[]): Promise<number> => Number((await r.db.query<{ n: string }>(`SELECT
      (SELECT count(*) FROM spindle_runs WHERE task_id = ANY($1)) + (SELECT count(*) FROM spindle_history WHERE task_id = ANY($1))
      + (SELECT count(*) FROM spindle_error_words WHERE task_id = ANY($1)) AS n`, [ids]))[0]!.n);
    const ids = failed.map((t) => t.id);
    expect(await rowsOf(ids)).toBeGreaterThanOrEqual(15);
    const keptRows = await rowsOf([kept.id]);
    expect(keptRows).toBeGreaterThanOrEqual(3);

    await r.db.query('UPDATE spindle_tasks SET expires_at = expires_at - 120000 WHERE id = ANY($1)', [ids]);
    await expect.poll(async () => Number((await r.db.query<{ n: string }>('SELECT count(*) AS n FROM spindle_tasks'))[0]!.n), { timeout: 60_000, interval: 100 }).toBe(1);
    expect(await rowsOf(ids)).toBe(0);
    expect(Number((await r.db.query<{ n: string }>(CHILD_ROWS))[0]!.n)).toBe(keptRows);
    expect(r.supervisor.stats().swept).toBe(5);
  }, 120_000);
});
