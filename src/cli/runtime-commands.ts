import type { Command } from 'commander';
import { EVENT_NAMES, type EventName } from '../api/events.js';
import type { RepairReport, StateCounts } from '../api/runtime-api.js';
import { TASK_STATES, type TaskState } from '../api/states.js';
import type { ClientEvent } from '../client/event-stream.js';
import { SpindleError } from '../errors.js';
import { clientOptions, type ClientFlags, output, type Output, withClient } from './connect.js';
import { storeSpec, wholeNumber } from './flag-values.js';
import { brief, dim, duration, state, styleFor, table, wallTime } from './format.js';
import { fromCommandLine } from './report-error.js';
import { scheduleFrom, type ScheduleFlags, scheduleOptions } from './schedule-flags.js';

/** How long `watch` keeps trying to reach a runtime that restarts under it. */
const WATCH_RECONNECT_MS = 60_000;

export function registerRuntimeCommands(program: Command): void {
  clientOptions(program.command('types'))
    .description('task types with their defaults')
    .option('-v, --verbose', 'also the params schema, retry policy and module file', false)
    .action((flags: ClientFlags & { verbose?: boolean }) => withClient(flags, async (client) => {
      const out = output(flags);
      const types = await client.types();
      if (out.json) return out.printJson(types);
      out.print(table(['type', 'timeout', 'max tries', 'concurrency', 'priority', 'isolation', 'description'],
        types.map((t) => [t.paused ? `${t.name} (paused)` : t.name, duration(t.timeoutMs), String(t.maxTries), String(t.concurrency ?? '-'), String(t.priority), t.isolation ?? '-', t.description ?? '']), out.style));
      if (flags.verbose === true) {
        for (const t of types) {
          out.print(`\n${t.name}\n  file    ${t.file}\n  retry   ${JSON.stringify(t.retry)}\n  params  ${t.params === null ? 'any' : JSON.stringify(t.params)}`);
        }
      }
    }));

  scheduleOptions(clientOptions(program.command('preview')), { withCount: false })
    .description('the next fire times of a schedule, without submitting it')
    .option('--count <n>', 'how many fire times to show (default 10; a schedule\'s own count goes in --schedule JSON)')
    .option('--after <instant>', 'fire times strictly after this instant (default now)')
    .action((flags: ClientFlags & ScheduleFlags & { after?: string }) => {
      const { count: shownText, ...scheduleFlags } = flags;
      const { schedule, shown } = fromCommandLine(() => {
        const schedule = scheduleFrom(scheduleFlags);
        if (schedule === undefined) throw new SpindleError('INVALID_SCHEDULE', 'give a schedule to preview: --at, --in, --every, --cron, --rrule or --schedule', { field: 'schedule' });
        return { schedule, shown: shownText === undefined ? 10 : wholeNumber(shownText, '--count') };
      });
      return withClient(flags, async (client) => {
        const out = output(flags);
        const { times } = await client.preview(schedule, { count: shown, ...(flags.after !== undefined ? { after: flags.after } : {}) });
        if (out.json) return out.printJson({ times });
        const zone = typeof schedule.tz === 'string' ? schedule.tz : 'UTC';
        if (times.length === 0) return out.print(dim('no further fire times', out.style));
        out.print(table([`in ${zone}`, 'UTC'], times.map((t) => [wallTime(t, zone), t]), out.style));
      });
    });

  clientOptions(program.command('watch'))
    .description('live events until interrupted')
    .option('--type <type>', 'only tasks of this type')
    .option('--id <id>', 'only this task')
    .option('--events <names>', `only these events, comma-separated: ${EVENT_NAMES.join(', ')}`)
    .action((flags: ClientFlags & { type?: string; id?: string; events?: string }) => withClient(flags, async (client) => {
      const out = output(flags);
      // A task that does not exist would never send an event: say so (NOT_FOUND) instead of waiting forever.
      if (flags.id !== undefined) await client.get(flags.id);
      const events = flags.events?.split(',').map((e) => e.trim()) as EventName[] | undefined;
      const stream = client.events({
        ...(flags.type !== undefined ? { type: flags.type } : {}),
        ...(flags.id !== undefined ? { taskId: flags.id } : {}),
        ...(events !== undefined ? { types: events } : {}),
      });
      const stop = (): void => void stream.return?.();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await stream.ready;
      process.stderr.write(dim(`watching ${client.socketPath}; Ctrl-C to stop\n`, styleFor(process.stderr)));
      for await (const ev of stream) {
        if (out.json) process.stdout.write(`${JSON.stringify(ev)}\n`);
        else out.print(eventLine(ev, out));
      }
    }, WATCH_RECONNECT_MS));

  clientOptions(program.command('stats'))
    .description('counts per state and type, pool size and busy workers')
    .action((flags: ClientFlags) => withClient(flags, async (client) => {
      const out = output(flags);
      const stats = await client.stats();
      if (out.json) return out.printJson(stats);
      const states = ['spooled', 'queued', 'running', 'finished', 'failed', 'terminated'];
      out.print(table(['type', ...states.map((s) => state(s, out.style))],
        [...Object.entries(stats.types).map(([type, counts]) => [stats.pausedTypes.includes(type) ? `${type} (paused)` : type, ...states.map((s) => String(counts[s] ?? 0))]),
          ['all', ...states.map((s) => String(stats.states[s] ?? 0))]], out.style));
      const pools = stats.pools.map((p) => `${p.mode} ${p.busy}/${p.size} busy`).join(', ');
      out.print(`\nworkers  ${pools}\nuptime   ${duration(stats.uptimeMs)}`);
      if (stats.pausedTypes.length > 0) out.print(`paused   ${stats.pausedTypes.join(', ')} (resume with spindle resume-type TYPE)`);
    }));

  clientOptions(program.command('stop'))
    .description('ask the runtime to shut down gracefully, and wait until it has')
    .option('--grace <duration>', 'how long running handlers get before they are killed (default: the runtime\'s, 10s)')
    .option('--no-wait', 'return once the runtime has agreed to stop')
    .action((flags: ClientFlags & { grace?: string; wait: boolean }) => withClient(flags, async (client) => {
      const out = output(flags);
      const answer = await client.stop({ ...(flags.grace !== undefined ? { grace: flags.grace } : {}), wait: flags.wait });
      if (out.json) return out.printJson(answer);
      out.print(flags.wait ? `stopped the runtime at ${client.socketPath}` : `the runtime at ${client.socketPath} is stopping`);
    }));

  program.command('repair')
    .description('repair a damaged store (LevelDB repair, then the indexes and counts rebuilt from the tasks) while no runtime holds it')
    .option('--data <dir>', 'the data directory (default $SPINDLE_DATA or ./.spindle)')
    .option('--store <spec>', 'the store to repair: level:DIR for LevelDB in DIR (default $SPINDLE_STORE, else <data>/store)')
    .option('--json', 'print the report as JSON', false)
    .action(async (flags: { data?: string; store?: string; json: boolean }) => {
      const spec = fromCommandLine(() => {
        // The store `spindle start` would open: --store, else $SPINDLE_STORE.
        const env = process.env.SPINDLE_STORE;
        const fromEnv = flags.store === undefined && env !== undefined && env !== '';
        const field = fromEnv ? 'SPINDLE_STORE' : '--store';
        const named = fromEnv ? storeSpec({ ...flags, store: env }, field) : storeSpec(flags, field);
        if (named.kind === 'postgres') throw new SpindleError('INVALID_OPTION', `${field}: repair is for LevelDB stores; a PostgreSQL database is repaired by PostgreSQL`, { field });
        return named;
      });
      // Loaded here: LevelDB and the directory checks are for this command alone; the others are light clients.
      const { repairStore } = await import('../runtime/open-store.js');
      const report = await repairStore(spec);
      if (flags.json) return void process.stdout.write(`${JSON.stringify(report)}\n`);
      process.stdout.write(`${repairSummary(report)}\n`);
    });
}

/** Tasks per state before (the store's own counts) and after (counted in the repaired store). */
function repairSummary(r: RepairReport): string {
  const total = (c: StateCounts | null): number | null => (c === null ? null : Object.values(c).reduce((a, b) => a + (b ?? 0), 0));
  const cell = (c: StateCounts | null, s: TaskState): string => (c === null ? '?' : String(c[s] ?? 0));
  const states = TASK_STATES.filter((s) => s !== 'none');
  const rows = [...states.map((s) => [s, cell(r.before, s), cell(r.after, s)]), ['all', String(total(r.before) ?? '?'), String(total(r.after))]];
  const before = total(r.before);
  const after = total(r.after) ?? 0;
  const verdict = before === null ? `the store's counts were unreadable before the repair; ${after} task(s) recovered`
    : after < before ? `${before - after} task(s) lost, ${after} recovered` : `no task lost (${after})`;
  const unreadable = r.unreadable > 0 ? `; ${r.unreadable} damaged task record(s) removed` : '';
  const lost = r.lostFiles.length > 0 ? `\nLevelDB could not read ${r.lostFiles.join(', ')}: moved aside into ${r.lostDir}` : '';
  return `repaired the store at ${r.path}\n${table(['state', 'before', 'after'], rows, styleFor(process.stdout))}\n${verdict}${unreadable}${lost}`;
}

function eventLine(ev: ClientEvent, out: Output): string {
  const at = ev.event === 'task.state' || ev.event.startsWith('events.') ? (ev.data as { at: string }).at
    : ev.event === 'run.ended' ? ev.data.endedAt
    : ev.event === 'run.started' ? ev.data.startedAt
    : new Date().toISOString();
  const time = at.slice(11, 23);
  switch (ev.event) {
    case 'task.state':
      return `${time}  ${ev.data.id}  ${ev.data.type}  ${ev.data.from} → ${state(ev.data.to, out.style)}${ev.data.reason !== null ? ` (${ev.data.reason})` : ''}`;
    case 'run.started':
      return `${time}  ${ev.data.id}  ${ev.data.type}  run ${ev.data.run} started, attempt ${ev.data.attempt}`;
    case 'run.progress':
      return `${time}  ${ev.data.id}  ${ev.data.type}  run ${ev.data.run} ${Math.round(ev.data.progress * 100)}%`;
    case 'run.ended': {
      const what = ev.data.error !== undefined ? `${ev.data.error.code}: ${brief(ev.data.error.message, 60)}`
        : ev.data.truncated === true ? 'output too large to pass between runtimes (spindle show has it)' : brief(ev.data.output, 60);
      return `${time}  ${ev.data.id}  ${ev.data.type}  run ${ev.data.run} ${state(ev.data.state, out.style)} in ${duration(ev.data.durationMs)}: ${what}`;
    }
    case 'events.gap':
      return dim(`${time}  reconnected to the runtime; events in between were missed`, out.style);
    case 'events.dropped':
      return dim(`${time}  ${ev.data.count} event(s) dropped: this terminal fell behind`, out.style);
  }
}
