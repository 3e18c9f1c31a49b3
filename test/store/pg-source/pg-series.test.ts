import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addMinute, copyMinute, emptyMinute, observe, type MinuteCounts } from '../../../src/api/series.js';
import { addSeries } from '../../../src/store/pg-source/derived-rows.js';
import { PgDatabase } from '../../../src/store/pg-source/pg-database.js';
import type { SeriesDelta } from '../../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/pg.js';

let test: TestDatabase;
let db: PgDatabase;

beforeEach(async () => {
  test = await createTestDatabase();
  db = await PgDatabase.open({ url: test.url, log: pino({ level: 'silent' }) });
});

afterEach(async () => {
  await db.close();
  await test.drop();
});

function counts(started: number, ended: Record<string, number>, runs: number[], waits: number[]): MinuteCounts {
  const c = emptyMinute();
  c.started = started;
  c.ended = ended;
  for (const ms of runs) observe(c.run, ms);
  for (const ms of waits) observe(c.wait, ms);
  return c;
}

describe('per-minute rows on PostgreSQL', () => {
  it('a type with a quote in its name is written as it is', async () => {
    const type = "it's\\ \"odd\"";
    await db.transaction(async (client) => addSeries(client, new Map([['k', { type, minute: 3, counts: counts(1, {}, [], [2]) }]])));
    expect(await db.query('SELECT type, minute::int AS minute FROM spindle_series')).toEqual([{ type, minute: 3 }]);
  });

  it('adds deltas in the database exactly as addMinute does: made from the first, added to after', async () => {
    const batches: SeriesDelta[][] = [
      [{ type: 'a', minute: 7, counts: counts(3, { finished: 2 }, [1.5, 40, 7000], [0, 3]) }, { type: 'b', minute: 7, counts: counts(1, {}, [], [12]) }],
      [{ type: 'a', minute: 7, counts: counts(2, { finished: 1, failed: 4 }, [0.25, 2_000_000], [30_000]) }],
      [{ type: 'a', minute: 7, counts: counts(0, { timeout: 1, finished: 5 }, [99.75], []) }, { type: 'a', minute: 8, counts: counts(1, {}, [], [1]) }],
    ];
    const expected = new Map<string, MinuteCounts>();
    for (const batch of batches) {
      await db.transaction(async (client) => addSeries(client, new Map(batch.map((d) => [`${d.type}\n${d.minute}`, d]))));
      for (const d of batch) {
        const key = `${d.type} ${d.minute}`;
        expected.set(key, addMinute(copyMinute(expected.get(key) ?? emptyMinute()), d.counts));
      }
    }
    const rows = await db.query<{ type: string; minute: number; counts: MinuteCounts }>('SELECT type, minute::float8 AS minute, counts FROM spindle_series ORDER BY type, minute');
    expect(new Map(rows.map((r) => [`${r.type} ${r.minute}`, r.counts]))).toEqual(expected);
  });

  it('two writers adding to the same row at once both count', async () => {
    const delta = (n: number): Map<string, SeriesDelta> => new Map([['a\n1', { type: 'a', minute: 1, counts: counts(n, { finished: n }, [n], []) }]]);
    await Promise.all(Array.from({ length: 8 }, (_, i) => db.transaction(async (client) => addSeries(client, delta(i + 1)))));
    const rows = await db.query<{ counts: MinuteCounts }>('SELECT counts FROM spindle_series');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.counts).toMatchObject({ started: 36, ended: { finished: 36 }, run: { n: 8, sum: 36 } });
  });
});
