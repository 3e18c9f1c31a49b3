import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/pg.js';
import { startRuntime, until } from '../helpers/runtime.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

/** A process running the built StallFence (see the fixture); run `npm run build` first. */
const FENCED = fileURLToPath(new URL('../fixtures/stall-fence/fenced.mjs', import.meta.url));
const LEASE_MS = 1000;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  removeTempDirs();
});

interface Fenced {
  proc: ChildProcess;
  data: string;
  out: string[];
  err: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function fenced(): Promise<Fenced> {
  const data = tempDir();
  const proc = spawn(process.execPath, [FENCED, data, String(LEASE_MS)], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(proc);
  const out: string[] = [];
  const err: string[] = [];
  proc.stdout!.on('data', (c: Buffer) => out.push(String(c)));
  proc.stderr!.on('data', (c: Buffer) => err.push(String(c)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  await until(() => out.join('').includes('beating'));
  return { proc, data, out, err, exited };
}

describe('StallFence', () => {
  it('beats into <data>/heartbeat on the machine-wide monotonic clock another process reads', async () => {
    const f = await fenced();
    const file = join(f.data, 'heartbeat');
    const beat = readFileSync(file).readBigInt64LE(0);
    const now = process.hrtime.bigint() / 1_000_000n;
    // Beaten at most an eighth of a lease ago (slack for a loaded machine), never in the future.
    expect(now - beat).toBeGreaterThanOrEqual(0n);
    expect(now - beat).toBeLessThan(BigInt(LEASE_MS) * 5n);
    await until(() => readFileSync(file).readBigInt64LE(0) > beat);
    f.proc.stdin!.write('close\n');
    expect(await f.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(file)).toBe(false);
  });

  it('kills its process with SIGKILL, saying why on stderr, when the main thread stalls past half a lease', async () => {
    const f = await fenced();
    f.proc.stdin!.write('stall\n');
    expect(await f.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(f.err.join('')).toMatch(/^spindle: FENCED: the runtime's main thread stalled \d+ ms, past half its lease; exiting so that no run it holds can overlap a takeover\n$/);
  });

  it('leaves a process that was stopped whole (SIGSTOP) and resumed alone: its thread was stopped too', async () => {
    const f = await fenced();
    f.proc.kill('SIGSTOP');
    // Past the stale bound (half a lease) and past the one-second gap that marks a stop.
    await sleep(2500);
    f.proc.kill('SIGCONT');
    f.proc.stdin!.write('ping\n');
    await until(() => f.out.join('').includes('pong'));
    f.proc.stdin!.write('close\n');
    expect(await f.exited).toEqual({ code: 0, signal: null });
    expect(f.err.join('')).toBe('');
  });

  it('runs only on a store with leases: a PostgreSQL runtime beats and removes its heartbeat on stop; a LevelDB one has none', async () => {
    const db = await createTestDatabase();
    try {
      const pg = await startRuntime({ store: db.url, mode: 'processes', workers: 1 });
      const file = join(pg.options.data, 'heartbeat');
      const first = readFileSync(file).readBigInt64LE(0);
      await until(() => readFileSync(file).readBigInt64LE(0) > first);
      await pg.stop();
      expect(existsSync(file)).toBe(false);
    } finally {
      await db.drop();
    }
    const level = await startRuntime({ mode: 'processes', workers: 1 });
    expect(existsSync(join(level.options.data, 'heartbeat'))).toBe(false);
    await level.stop();
  });
});
