import type { Command } from 'commander';
import type { HistoryView, RunView, SubmittedView, TaskView } from '../api/views.js';
import type { Client, SubmitOptions } from '../client/client.js';
import { parseDuration } from '../duration.js';
import { invalidArgument } from '../errors.js';
import { clientOptions, type ClientFlags, output, type Output, withClient } from './connect.js';
import { brief, dim, duration, relative, state, table } from './format.js';
import { numberOrText, paramsFrom, parseJsonObject, readTextFile, wholeNumber } from './flag-values.js';
import { fromCommandLine } from './report-error.js';
import { scheduleFrom, type ScheduleFlags, scheduleOptions } from './schedule-flags.js';

interface SubmitFlags extends ClientFlags, ScheduleFlags {
  params?: string;
  maxTries?: string;
  timeout?: string;
  priority?: string;
  key?: string;
  keyRetention?: string;
  misfire?: string;
  grace?: string;
  wait?: boolean;
  file?: string;
}

/** Tasks per `task.submitMany` when submitting a file: each batch is one atomic write. */
const FILE_BATCH = 1000;
/** How long `--wait` keeps trying to reach a runtime that restarts under it. */
const WAIT_RECONNECT_MS = 60_000;

export function registerTaskCommands(program: Command): void {
  scheduleOptions(clientOptions(program.command('submit [type]')))
    .description('submit a task (or many, with --file)')
    .option('--params <json>', 'the task\'s params as a JSON object, or @FILE to read them from a JSON file (@- for stdin)')
    .option('--max-tries <n>', 'runs before giving up (default: the type\'s)')
    .option('--timeout <duration>', 'per-run timeout, e.g. 30s (default: the type\'s)')
    .option('--priority <n>', 'higher runs first (default: the type\'s)')
    .option('--key <key>', 'idempotency key: while a task holds it (live, or ended within its key retention), a submit with equal params returns that task')
    .option('--key-retention <duration>', 'how long the task keeps --key after it ends (default: the runtime\'s --key-retention)')
    .option('--misfire <policy>', 'coalesce | skip | all: fire times missed while down or busy')
    .option('--grace <duration>', 'with --misfire skip: how late a fire time may still run')
    .option('--wait', 'wait until the task ends; exit 0 only if it finished', false)
    .option('--file <path>', 'submit one JSON submit object per line from a file, or - for stdin')
    .action((type: string | undefined, flags: SubmitFlags) => submit(type, flags));

  clientOptions(program.command('list'))
    .description('tasks, newest first')
    .option('--state <state>', 'only tasks in this state')
    .option('--type <type>', 'only tasks of this type')
    .option('--limit <n>', 'at most this many (default 100)')
    .option('--cursor <cursor>', 'the next page, from a previous list')
    .option('--paused', 'only tasks that are paused (whatever their state)', false)
    .action((flags: ClientFlags & { state?: string; type?: string; limit?: string; cursor?: string; paused?: boolean }) => {
      const query = fromCommandLine(() => ({
        ...(flags.state !== undefined ? { state: pausedIsAFlag(flags.state) } : {}),
        ...(flags.paused === true ? { paused: true } : {}),
        ...(flags.type !== undefined ? { type: flags.type } : {}),
        ...(flags.limit !== undefined ? { limit: wholeNumber(flags.limit, '--limit') } : {}),
        ...(flags.cursor !== undefined ? { cursor: flags.cursor } : {}),
      }));
      return withClient(flags, async (client) => {
        const out = output(flags);
        const page = await client.list(query);
        if (out.json) return out.printJson(page);
        printTasks(out, page.tasks, ['id', 'type', 'state', 'next run', 'runs', 'updated']);
        if (page.cursor !== null) out.print(dim(`more: spindle list --cursor ${page.cursor}${flags.limit !== undefined ? ` --limit ${flags.limit}` : ''}${flags.paused === true ? ' --paused' : ''}`, out.style));
      });
    });

  clientOptions(program.command('pending [type]'))
    .description('queued tasks in due order, with their next run times')
    .option('--limit <n>', 'at most this many (default 100)')
    .action((type: string | undefined, flags: ClientFlags & { limit?: string }) => {
      const query = fromCommandLine(() => ({
        ...(type !== undefined ? { type } : {}),
        ...(flags.limit !== undefined ? { limit: wholeNumber(flags.limit, '--limit') } : {}),
      }));
      return withClient(flags, async (client) => {
        const out = output(flags);
        const tasks = await client.pending(query);
        if (out.json) return out.printJson(tasks);
        printTasks(out, tasks, ['id', 'type', 'next run', 'due at', 'priority', 'schedule']);
      });
    });

  byId(program, 'show', 'one task with its last run', (c, id) => c.get(id), (out, task) => out.print(describeTask(task, out)));

  byId(program, 'runs', 'a task\'s runs, oldest first', (c, id) => c.runs(id), (out, runs) => {
    const now = Date.now();
    out.print(table(['run', 'attempt', 'state', 'started', 'duration', 'worker', 'result'],
      runs.map((r) => [String(r.run), String(r.attempt), state(r.state, out.style), relative(r.startedAt, now), duration(r.durationMs), r.worker ?? '-', result(r)]), out.style));
  });

  byId(program, 'history', 'a task\'s state transitions, oldest first', (c, id) => c.history(id), (out, history) => {
    out.print(table(['at', 'from', 'to', 'event', 'reason'],
      history.map((h: HistoryView) => [h.at, h.from, state(h.to, out.style), h.event, h.reason ?? '-']), out.style));
  });

  const controls = [
    ['cancel', 'cancel a task (a running one is aborted)', (c: Client, id: string) => c.cancel(id), 'cancelled'],
    ['pause', 'pause a task: it does not start until resumed', (c: Client, id: string) => c.pause(id), 'paused'],
    ['resume', 'resume a paused task', (c: Client, id: string) => c.resume(id), 'resumed'],
    ['run-now', 'run a queued task now (a recurring one keeps its schedule)', (c: Client, id: string) => c.runNow(id), 'due now:'],
  ] as const;
  for (const [name, description, act, verb] of controls) {
    byId(program, name, description, act, (out, task) => out.print(`${verb} ${task.id} (${task.type}, ${stateText(task, out)}${task.paused ? ', paused' : ''})`));
  }
}

/** `--state paused` reads naturally but pause is a flag on a task in any open state. */
function pausedIsAFlag(stateName: string): string {
  if (stateName === 'paused') throw invalidArgument('--state', 'paused is not a state: use --paused (tasks paused in any state)');
  return stateName;
}

/** A command on one task: call the runtime with its id, print the answer as JSON or as `print` does. */
function byId<T>(program: Command, name: string, description: string, call: (client: Client, id: string) => Promise<T>, print: (out: Output, value: T) => void): void {
  clientOptions(program.command(`${name} <id>`))
    .description(description)
    .action((id: string, flags: ClientFlags) => withClient(flags, async (client) => {
      const out = output(flags);
      const value = await call(client, id);
      if (out.json) return out.printJson(value);
      print(out, value);
    }));
}

async function submit(type: string | undefined, flags: SubmitFlags): Promise<void> {
  const out = output(flags);
  if (flags.file !== undefined) return submitFile(type, flags, out);
  const options = fromCommandLine(() => submitOptions(type, flags));
  await withClient(flags, async (client) => {
    if (flags.wait === true) return waited(await client.submitAndWait(options), out);
    const task = await client.submit(options);
    if (out.json) return out.printJson(task);
    const next = task.nextRunAt === null ? '' : `, next run ${relative(task.nextRunAt, Date.now())}`;
    // A key that returned a task already holding it stored nothing new: say so.
    out.print(`${task.existing ? 'existing' : 'submitted'} ${task.id} (${task.type}, ${stateText(task, out)}${next})`);
  }, flags.wait === true ? WAIT_RECONNECT_MS : 0);
}

/** `submit --wait`: the output of a task that finished, else one line on stderr and exit code 1. */
function waited(done: TaskView, out: Output): void {
  if (out.json) out.printJson(done);
  else if (done.state === 'finished') out.print(outputText(done.lastRun?.output));
  if (done.state !== 'finished') {
    const error = done.lastRun?.error;
    process.stderr.write(`spindle: task ${done.id} ${done.state} (${done.reason ?? 'no reason'})${error ? `: ${error.code}: ${error.message}` : ''}\n`);
    process.exitCode = 1;
  }
}

/** The one submit the flags describe; throws (exit 2) before anything is sent. */
function submitOptions(type: string | undefined, flags: SubmitFlags): SubmitOptions {
  if (type === undefined) throw invalidArgument('type', 'give the task type to submit, e.g. `spindle submit hello`, or --file');
  const schedule = scheduleFrom(flags);
  return {
    type,
    ...(flags.params !== undefined ? { params: paramsFrom(flags.params) } : {}),
    ...(schedule !== undefined ? { schedule } : {}),
    ...(flags.maxTries !== undefined ? { maxTries: wholeNumber(flags.maxTries, '--max-tries') } : {}),
    ...(flags.timeout !== undefined ? { timeout: numberOrText(flags.timeout) } : {}),
    ...(flags.priority !== undefined ? { priority: wholeNumber(flags.priority, '--priority', { signed: true }) } : {}),
    ...(flags.key !== undefined ? { key: flags.key } : {}),
    ...(flags.keyRetention !== undefined ? { keyRetention: numberOrText(flags.keyRetention) } : {}),
    ...(flags.misfire !== undefined ? { misfire: flags.misfire as SubmitOptions['misfire'] & string } : {}),
    ...(flags.grace !== undefined ? { graceMs: parseDuration(numberOrText(flags.grace), '--grace') } : {}),
  };
}

/** `submit --file`: its lines as submits, each remembered with its line number for error messages. */
function fileSubmits(flags: SubmitFlags, type: string | undefined): { source: string; tasks: Array<{ line: number; options: SubmitOptions }> } {
  if (type !== undefined) throw invalidArgument('--file', 'give either a TYPE or --file, not both: each line of the file names its type');
  if (flags.wait === true) throw invalidArgument('--wait', 'is for one task; wait on a file\'s tasks with `spindle watch` or the client');
  const source = flags.file === '-' ? 'stdin' : flags.file!;
  const tasks: Array<{ line: number; options: SubmitOptions }> = [];
  readTextFile(flags.file!, '--file').split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    tasks.push({ line: i + 1, options: parseJsonObject(line, `${source}:${i + 1}`) as unknown as SubmitOptions });
  });
  if (tasks.length === 0) throw invalidArgument('--file', `${source} holds no submits (one JSON object per line)`);
  return { source, tasks };
}

async function submitFile(type: string | undefined, flags: SubmitFlags, out: Output): Promise<void> {
  const { source, tasks } = fromCommandLine(() => fileSubmits(flags, type));
  await withClient(flags, async (client) => {
    const stored: SubmittedView[] = [];
    for (let i = 0; i < tasks.length; i += FILE_BATCH) {
      const batch = tasks.slice(i, i + FILE_BATCH);
      try {
        stored.push(...await client.submitMany(batch.map((t) => t.options)));
      } catch (err) {
        const index = (err as { details?: { index?: unknown } }).details?.index;
        const at = typeof index === 'number' ? batch[index]?.line : undefined;
        const where = at !== undefined ? `${source}:${at}` : `${source} lines ${batch[0]!.line}–${batch.at(-1)!.line}`;
        process.stderr.write(`spindle: ${stored.length} task(s) stored before ${where}, which was refused as a batch of ${batch.length} (none of it stored)\n`);
        throw err;
      }
    }
    if (out.json) return out.printJson(stored);
    const existing = stored.filter((t) => t.existing).length;
    const created = stored.length - existing;
    out.print(`submitted ${created} task${created === 1 ? '' : 's'} from ${source}${existing > 0 ? `, ${existing} existing (by key)` : ''}`);
  });
}

type Column = 'id' | 'type' | 'state' | 'next run' | 'due at' | 'runs' | 'updated' | 'priority' | 'schedule';

function printTasks(out: Output, tasks: readonly TaskView[], columns: readonly Column[]): void {
  if (tasks.length === 0) {
    out.print(dim('no tasks', out.style));
    return;
  }
  const now = Date.now();
  const cell = (t: TaskView, c: Column): string => {
    switch (c) {
      case 'id': return t.id;
      case 'type': return t.type;
      case 'state': return stateText(t, out) + (t.paused ? ' (paused)' : '');
      case 'next run': return relative(t.nextRunAt, now);
      case 'due at': return t.nextRunAt ?? '-';
      case 'runs': return String(t.runCount);
      case 'updated': return relative(t.updatedAt, now);
      case 'priority': return String(t.priority);
      case 'schedule': return brief(t.schedule, 50);
    }
  };
  out.print(table(columns, tasks.map((t) => columns.map((c) => cell(t, c))), out.style));
}

function describeTask(t: TaskView, out: Output): string {
  const now = Date.now();
  const at = (iso: string | null): string => (iso === null ? '-' : `${relative(iso, now)} (${iso})`);
  const rows: Array<[string, string]> = [
    ['id', t.id],
    ['type', t.type],
    ['state', stateText(t, out) + (t.paused ? ' (paused)' : '')],
    ['params', brief(t.params, 200)],
    ['schedule', t.schedule === null ? 'none (one-shot, due at submit)' : brief(t.schedule, 200)],
    ['next run', at(t.nextRunAt)],
    ['tries', `${t.tries} of ${t.maxTries} in this occurrence; ${t.runCount} run(s) in all`],
    ...(t.interval !== undefined ? [['interval', duration(t.interval)] as [string, string]] : []),
    ['priority', String(t.priority)],
    ['timeout', duration(t.timeoutMs)],
    ['misfire', t.recurring ? `${t.misfire}${t.misfire === 'skip' ? ` (grace ${duration(t.graceMs)})` : ''}` : '-'],
    ['key', t.key === null ? '-' : t.keyExpiresAt === undefined ? t.key : `${t.key} (held until ${at(t.keyExpiresAt)})`],
    ['created', at(t.createdAt)],
    ['updated', at(t.updatedAt)],
    ['ended', at(t.endedAt)],
  ];
  const run = t.lastRun;
  if (run !== null) {
    rows.push(['last run', `#${run.run}, attempt ${run.attempt}: ${state(run.state, out.style)} ${relative(run.startedAt, now)}, took ${duration(run.durationMs)} on ${run.worker ?? '-'}`]);
    if (run.error !== null) rows.push(['error', `${run.error.code}: ${run.error.message}`]);
    else if (run.output !== null) rows.push(['output', brief(run.output, 500)]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${dim(k.padEnd(width), out.style)}  ${v}`).join('\n');
}

function stateText(t: TaskView, out: Output): string {
  return state(t.state, out.style) + (t.reason !== null ? ` (${t.reason})` : '');
}

function result(r: RunView): string {
  if (r.error !== null) return `${r.error.code}: ${brief(r.error.message, 50)}`;
  return brief(r.output, 60);
}

/** A handler's output as a person reads it: strings bare, anything else as JSON. */
function outputText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}
