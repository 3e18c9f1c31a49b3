import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI (`npm test` builds first), run as a real process. */
export const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `spindle ARGS` to completion; `input` is written to its stdin. */
export function spindle(args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** `spindle ARGS --json`, expecting success; the parsed stdout. */
export async function spindleJson<T = any>(args: readonly string[], options: { input?: string } = {}): Promise<T> {
  const ran = await spindle([...args, '--json'], options);
  if (ran.code !== 0) throw new Error(`spindle ${args.join(' ')} exited ${ran.code}: ${ran.stderr}`);
  return JSON.parse(ran.stdout) as T;
}

export interface Background {
  child: ChildProcess;
  /** Everything it has printed so far, stdout and stderr. */
  output(): string;
  /** What it has printed on stdout alone. */
  stdout(): string;
  /** Resolves once its output contains `text`; rejects if it exits first, or after `withinMs` when given. */
  printed(text: string, withinMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** SIGKILLs a background process that is still running and waits until it is gone (test clean-up). */
export async function killBackground(b: Background | undefined): Promise<void> {
  if (b === undefined || b.child.exitCode !== null) return;
  b.child.kill('SIGKILL');
  await b.exited;
}

/** Starts `spindle ARGS` in the background (e.g. `start`, `watch`), under `umask` when given, with `env` added. */
export function background(args: readonly string[], options: { umask?: string; env?: NodeJS.ProcessEnv } = {}): Background {
  const env = { ...process.env, NO_COLOR: '1', ...options.env };
  const child = options.umask === undefined
    ? spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
    : spawn('sh', ['-c', `umask ${options.umask} && exec "$0" "$@"`, process.execPath, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let stdout = '';
  const watchers: Array<{ text: string; resolve: () => void }> = [];
  const onData = (c: Buffer): void => {
    out += c.toString();
    for (let i = watchers.length - 1; i >= 0; i--) {
      if (out.includes(watchers[i]!.text)) watchers.splice(i, 1)[0]!.resolve();
    }
  };
  child.stdout!.on('data', (c: Buffer) => { stdout += c.toString(); });
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    output: () => out,
    stdout: () => stdout,
    printed: (text, withinMs) => {
      if (out.includes(text)) return Promise.resolve();
      let timer: NodeJS.Timeout | undefined;
      const bounds = [exited.then(({ code, signal }) => { throw new Error(`exited (${code ?? signal}) before printing ${JSON.stringify(text)}:\n${out}`); })];
      if (withinMs !== undefined) {
        bounds.push(new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`did not print ${JSON.stringify(text)} within ${withinMs} ms:\n${out}`)), withinMs);
        }));
      }
      return Promise.race([new Promise<void>((resolve) => watchers.push({ text, resolve })), ...bounds]).finally(() => clearTimeout(timer));
    },
    exited,
  };
}

/** `spindle start` in the background, resolved once it serves its socket. */
export async function startRuntime(data: string, tasks: string, extra: readonly string[] = []): Promise<Background> {
  const runtime = background(['start', '--data', data, '--tasks', tasks, '--workers', '2', ...extra]);
  await runtime.printed('spindle runtime started');
  return runtime;
}
