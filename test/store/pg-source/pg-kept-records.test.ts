import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { pgTestBed, startPgRuntime } from '../../helpers/pg-supervisor.js';
import { waitForState } from '../../helpers/runtime.js';

const bed = pgTestBed();

/** Rewrites a task's params in its row as another runtime's write would: the record changes and the version moves on. */
async function rewriteParams(url: string, id: string, from: string, to: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rowCount } = await c.query('UPDATE spindle_tasks SET record = replace(record, $2, $3), version = version + 1 WHERE id = $1 AND version = 0', [id, from, to]);
    expect(rowCount).toBe(1);
  } finally {
    await c.end();
  }
}

describe('records kept from their insert for the claim (PostgreSQL)', () => {
  it('a task inserted here runs with its params when claimed here', async () => {
    const runtime = await startPgRuntime(bed.db.url);
    bed.runtimes.push(runtime);
    const tasks = await runtime.supervisor.submitMany(Array.from({ length: 20 }, (_, i) => ({ type: 'echo', params: { i } })));
    for (const [i, t] of tasks.entries()) {
      expect(await waitForState(runtime.supervisor, t.id)).toMatchObject({ state: 'finished', lastRun: { output: { i } } });
    }
  });

  it('a claim runs the task as its row holds it: a record another write changed since the insert is read back, not the one kept', async () => {
    const runtime = await startPgRuntime(bed.db.url);
    bed.runtimes.push(runtime);
    // Due soon (so its record is kept), late enough to be changed first.
    const t = await runtime.supervisor.submit({ type: 'echo', params: { v: 'inserted' }, schedule: { at: new Date(Date.now() + 1500).toISOString() } });
    await rewriteParams(bed.db.url, t.id, '{"v":"inserted"}', '{"v":"changed"}');
    expect(await waitForState(runtime.supervisor, t.id)).toMatchObject({ state: 'finished', lastRun: { output: { v: 'changed' } } });
  });
});
