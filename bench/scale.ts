/**
 * Scale: N queued one-shot tasks due in the future. The runtime fills its store in one process,
 * then a fresh process measures start-to-ready (the first `stats` answer), its RSS after a GC, and
 * the first page of `list --state queued` and `pending` (median of 5). Store size is read from disk.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./scale-child.js', import.meta.url));

export interface ScaleResult {
  n: number;
  fillPerSec: number;
  storeMb: number;
  readyMs: number;
  rssMb: number;
  listMs: number;
  pendingMs: number;
}

function child<T>(args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const proc = fork(CHILD, args, { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let answer: T | undefined;
    proc.once('message', (m) => { answer = m as T; });
    proc.once('exit', (code) => (answer !== undefined ? resolve(answer) : reject(new Error(`scale child ${args[0]} exited with ${code}`))));
  });
}

function sizeOf(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => sum + (e.isDirectory() ? sizeOf(join(dir, e.name)) : statSync(join(dir, e.name)).size), 0);
}

export async function scale(n: number, tasks: string): Promise<ScaleResult> {
  const data = mkdtempSync(join(tmpdir(), 'spindle-bench-scale-'));
  try {
    const { fillMs } = await child<{ fillMs: number }>(['fill', data, tasks, String(n)]);
    const storeMb = sizeOf(data) / 2 ** 20;
    const m = await child<{ readyMs: number; rssMb: number; listMs: number; pendingMs: number; queued: number }>(['measure', data, tasks, String(n)]);
    if (m.queued !== n) throw new Error(`scale: expected ${n} queued tasks after restart, found ${m.queued}`);
    const r = (x: number): number => Math.round(x * 10) / 10;
    return { n, fillPerSec: Math.round(n / (fillMs / 1000)), storeMb: r(storeMb), readyMs: Math.round(m.readyMs), rssMb: Math.round(m.rssMb), listMs: m.listMs, pendingMs: m.pendingMs };
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
}
