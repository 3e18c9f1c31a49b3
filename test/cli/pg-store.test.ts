import { afterEach, describe, expect, it } from 'vitest';
import { type Background, killBackground, spindle, spindleJson, startRuntime } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { FIXTURE_TASKS, removeTempDirs, tempDir, until } from '../helpers/runtime.js';

let db: TestDatabase | undefined;
const runtimes: Background[] = [];

afterEach(async () => {
  for (const r of runtimes.splice(0)) await killBackground(r);
  await db?.drop();
  db = undefined;
  removeTempDirs();
});

interface Listed { tasks: Array<{ id: string; state: string; runCount: number }>; cursor: string | null }

describe('spindle start --store postgres:// (the real CLI, two runtimes, one database)', () => {
  it('shares the tasks: every task submitted to one runtime runs exactly once, and either runtime answers for all of them', async () => {
    db = await createTestDatabase();
    const [a, b] = [tempDir(), tempDir()];
    runtimes.push(await startRuntime(a, FIXTURE_TASKS, ['--store', db.url, '--lease', '5s']));
    runtimes.push(await startRuntime(b, FIXTURE_TASKS, ['--store', db.url, '--lease', '5s']));
    const lines = Array.from({ length: 60 }, (_, n) => JSON.stringify({ type: 'echo', params: { n } })).join('\n');
    const submitted = await spindle(['submit', '--data', a, '--file', '-'], { input: `${lines}\n` });
    expect(submitted.code, submitted.stderr).toBe(0);
    // Counted by the database, read through the other runtime.
    await until(async () => (await spindleJson<{ states: Record<string, number> }>(['stats', '--data', b])).states.finished === 60);
    const listed = await spindleJson<Listed>(['list', '--data', b, '--limit', '100']);
    expect(listed.tasks).toHaveLength(60);
    expect(listed.tasks.filter((t) => t.state !== 'finished' || t.runCount !== 1)).toEqual([]);
    const one = listed.tasks[0]!;
    expect(await spindleJson(['show', one.id, '--data', a])).toMatchObject({ id: one.id, state: 'finished' });
  });

  it('refuses repair for a PostgreSQL store on the command line (INVALID_OPTION, exit 2)', async () => {
    const ran = await spindle(['repair', '--store', 'postgres://root@127.0.0.1:5432/postgres']);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toMatch(/^spindle: INVALID_OPTION: --store: repair is for LevelDB stores/);
  });
});
