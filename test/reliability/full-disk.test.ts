import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '../../src/index.js';
import { type Background, startRuntime, killBackground } from '../helpers/cli.js';
import { removeTempDirs, tempDir, until } from '../helpers/runtime.js';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';

const TASKS = fileURLToPath(new URL('../fixtures/recovery-tasks', import.meta.url));
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

let mount: Tmpfs | undefined;
let runtime: Background | undefined;
let client: Client | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
  await killBackground(runtime);
  runtime = undefined;
  mount?.unmount();
  mount = undefined;
  removeTempDirs();
});

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** `n` → how many times the record fixture started it. */
function startsByTask(log: string): Map<number, number> {
  const starts = new Map<number, number>();
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const [n, , , what] = line.split(' ');
    if (what === 'start') starts.set(Number(n), (starts.get(Number(n)) ?? 0) + 1);
  }
  return starts;
}

async function stopRuntime(bg: Background): Promise<void> {
  bg.child.kill('SIGTERM');
  expect(await bg.exited).toMatchObject({ code: 0 });
}

describe.each([
  { mode: 'default', flags: [] as string[] },
  { mode: '--sync', flags: ['--sync'] },
])('S1: a full disk ($mode) on a real 2 MB tmpfs', ({ flags }) => {
  it('answers STORE_UNAVAILABLE, never ok, starts no unwritten run, does not spin, and loses nothing acknowledged once space is freed', { timeout: 180_000 }, async () => {
    mount = mountTmpfs(2);
    const data = join(mount.dir, 'data');
    const log = join(tempDir(), 'runs.log');
    writeFileSync(log, '');
    runtime = await startRuntime(data, TASKS, flags);
    client = await Client.connect({ socket: join(data, 'spindle.sock'), reconnectWindowMs: 0 });
    const c = client;
    const acked = new Map<number, string>();
    const refused: number[] = [];
    let n = 0;
    const submit = async (): Promise<'ok' | 'refused'> => {
      const mine = n++;
      try {
        const t = await c.submit({ type: 'record', params: { log, n: mine } });
        acked.set(mine, t.id);
        return 'ok';
      } catch (err) {
        expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE' });
        refused.push(mine);
        return 'refused';
      }
    };

    for (let i = 0; i < 100; i++) expect(await submit()).toBe('ok');
    await until(async () => (await c.stats()).states.finished === 100);

    // The disk fills up: a write may still fit in the log's last page, then every one is refused.
    mount.fill();
    let refusedInARow = 0;
    for (let i = 0; i < 1000 && refusedInARow < 3; i++) refusedInARow = (await submit()) === 'refused' ? refusedInARow + 1 : 0;
    expect(refusedInARow).toBe(3);

    // While full, the refusals are not paid for with a spinning loop: writes are retried after a
    // growing delay (up to 5 s), which each refused submit waits for.
    const pid = runtime.child.pid!;
    const cpuBefore = cpuSeconds(pid);
    const wallBefore = performance.now();
    for (let i = 0; i < 3; i++) expect(await submit()).toBe('refused');
    const cpuShare = (cpuSeconds(pid) - cpuBefore) / ((performance.now() - wallBefore) / 1000);
    expect(cpuShare).toBeLessThan(0.5);

    // Space is freed: every submit is acknowledged again, on a new log.
    mount.free();
    for (let i = 0; i < 200; i++) expect(await submit()).toBe('ok');
    await until(async () => (await c.stats()).states.finished === acked.size);
    await c.close();
    client = undefined;
    await stopRuntime(runtime);

    runtime = await startRuntime(data, TASKS, flags);
    client = await Client.connect({ socket: join(data, 'spindle.sock'), reconnectWindowMs: 0 });
    const again = client;
    // Runs queue behind a task submitted now: once it is done, a rerun would have started.
    const sentinel = await again.submit({ type: 'record', params: { log, n: -1 } });
    await until(async () => (await again.get(sentinel.id)).state === 'finished');

    const missing = [];
    for (const [mine, id] of acked) {
      const t = await again.get(id).catch(() => null);
      if (t === null || t.state !== 'finished') missing.push({ n: mine, id, state: t?.state });
    }
    expect(missing).toEqual([]);
    expect((await again.stats()).states.finished).toBe(acked.size + 1);
    const starts = startsByTask(log);
    // Each acknowledged task ran once; nothing refused was stored or run.
    expect([...acked.keys()].filter((mine) => starts.get(mine) !== 1)).toEqual([]);
    expect(refused.filter((mine) => starts.has(mine))).toEqual([]);
    expect(acked.size).toBeGreaterThanOrEqual(300);
    await stopRuntime(runtime);
  });
});
