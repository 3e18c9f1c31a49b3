/**
 * CLI and entry-point latency: wall time of short-lived node processes against a bare `node -e ''`
 * measured in the same rounds (cases interleaved, so the machine's load falls on all alike), and
 * `npm start`'s time to ready with sources unchanged, against the full build it ran before.
 * `node dist/bench/cli-latency.js` runs it alone; bench/run.ts runs it last.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli/main.js');
const TASKS = join(ROOT, 'bench/tasks');
const READY = 'spindle runtime started';

export interface LatencyRow {
  name: string;
  medianMs: number;
  /** The median over the baseline's median (bare node, or for npm start: starting without npm). */
  ratio: number;
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timedRun(args: readonly string[]): number {
  const t0 = performance.now();
  const ran = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (ran.status !== 0) throw new Error(`node ${args.join(' ')} exited ${ran.status}: ${ran.stderr.toString()}`);
  return ms;
}

/** A process that prints READY when the runtime serves its socket; resolves with the time it took. */
async function untilReady(command: string, args: readonly string[]): Promise<{ ms: number; child: ChildProcess }> {
  const t0 = performance.now();
  const child = spawn(command, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      if (out.includes(READY)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited ${code} before ready:\n${out}`)));
  });
  return { ms: performance.now() - t0, child };
}

/** SIGTERM to the whole group (npm, sh and node), then wait for it to go. */
async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid!, 'SIGTERM');
  await exited;
}

/** Median wall times of client commands and entry imports, `rounds` interleaved runs each. */
export async function cliLatency(rounds = 15): Promise<LatencyRow[]> {
  const data = mkdtempSync(join(tmpdir(), 'spindle-bench-cli-'));
  const runtime = await untilReady(process.execPath, [CLI, 'start', '--data', data, '--tasks', TASKS, '--workers', '1', '--log-level', 'info']);
  try {
    const cases: Array<[string, string[]]> = [
      ["bare `node -e ''` (baseline)", ['-e', '']],
      ['`spindle --version`', [CLI, '--version']],
      ['`spindle stats` (a running runtime)', [CLI, 'stats', '--data', data]],
      ["`import('spindle/client')`", ['--input-type=module', '-e', "await import('spindle/client')"]],
      ["`import('spindle')` (the main entry, with the runtime)", ['--input-type=module', '-e', "await import('spindle')"]],
    ];
    for (const [, args] of cases) timedRun(args);
    const times = cases.map((): number[] => []);
    for (let r = 0; r < rounds; r++) cases.forEach(([, args], i) => times[i]!.push(timedRun(args)));
    const base = median(times[0]!);
    return cases.map(([name], i) => ({ name, medianMs: median(times[i]!), ratio: median(times[i]!) / base }));
  } finally {
    await stop(runtime.child);
    rmSync(data, { recursive: true, force: true });
  }
}

/**
 * `npm start` to the runtime's ready line, sources unchanged: what it runs now (build only when
 * stale, `tsc -b`) against what it ran before (a full `tsc -p` first), and node starting it directly.
 */
export async function npmStartLatency(rounds = 3): Promise<LatencyRow[]> {
  const data = mkdtempSync(join(tmpdir(), 'spindle-bench-start-'));
  const start = [CLI, 'start', '--data', data, '--tasks', TASKS, '--workers', '1'];
  const cases: Array<[string, string, string[]]> = [
    ['`node dist/src/cli/main.js start` (baseline)', process.execPath, start],
    ['`npm start`: build only when stale (now)', 'npm', ['start', '--', '--data', data, '--workers', '1']],
    ['`tsc -p tsconfig.json && node … start` (a full build, as before)', 'sh', ['-c', `npx tsc -p tsconfig.json && "$0" "$@"`, process.execPath, ...start]],
  ];
  const times = cases.map((): number[] => []);
  try {
    for (let r = 0; r < rounds; r++) {
      for (const [i, [, command, args]] of cases.entries()) {
        const { ms, child } = await untilReady(command, args);
        times[i]!.push(ms);
        await stop(child);
      }
    }
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
  const base = median(times[0]!);
  return cases.map(([name], i) => ({ name, medianMs: median(times[i]!), ratio: median(times[i]!) / base }));
}

export function printLatency(rows: readonly LatencyRow[], baseline: string): void {
  console.log(`\n| case | median ms | × ${baseline} |\n|---|---:|---:|`);
  for (const row of rows) console.log(`| ${row.name} | ${Math.round(row.medianMs)} | ${row.ratio.toFixed(2)} |`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log('CLI and entry latency: median wall time of 15 interleaved runs each');
  printLatency(await cliLatency(), 'bare node');
  console.log('\nnpm start, sources unchanged: spawn to "spindle runtime started", median of 3');
  printLatency(await npmStartLatency(), 'node … start');
}
