import type { Command } from 'commander';
import type { PurgeFilter, PurgePreview, PurgeResult, TypeInfo } from '../api/runtime-api.js';
import type { TaskView } from '../api/views.js';
import { invalidArgument } from '../errors.js';
import { clientOptions, type ClientFlags, output, withClient } from './connect.js';
import { relative, state } from './format.js';
import { fromCommandLine } from './report-error.js';
import { scheduleFrom, type ScheduleFlags, scheduleOptions } from './schedule-flags.js';

interface PurgeFlags extends ClientFlags {
  state?: string;
  type?: string;
  before?: string;
  yes?: boolean;
}

/** The everyday operations: retry, delete and purge ended tasks, reschedule, pause a whole type. */
export function registerOpsCommands(program: Command): void {
  clientOptions(program.command('retry <id>'))
    .description('queue a failed or terminated task again, with fresh tries and due now (its runs and history stay)')
    .action((id: string, flags: ClientFlags) => withClient(flags, async (client) => {
      const out = output(flags);
      const task = await client.retry(id);
      if (out.json) return out.printJson(task);
      out.print(`retried ${task.id} (${task.type}, ${state(task.state, out.style)}, due now with ${task.maxTries} fresh ${task.maxTries === 1 ? 'try' : 'tries'})`);
    }));

  clientOptions(program.command('delete <id>'))
    .description('delete an ended task (finished, failed or terminated) with its runs and history')
    .action((id: string, flags: ClientFlags) => withClient(flags, async (client) => {
      const out = output(flags);
      const answer = await client.delete(id);
      if (out.json) return out.printJson(answer);
      out.print(`deleted ${answer.id}`);
    }));

  clientOptions(program.command('purge'))
    .description('delete the ended tasks of one state (and type, and submitted before an instant): counts first, deletes with --yes')
    .option('--state <state>', 'finished | failed | terminated (required)')
    .option('--type <type>', 'only tasks of this type')
    .option('--before <instant>', 'only tasks submitted before this ISO-8601 instant')
    .option('--yes', 'delete them; without it, only say how many would go', false)
    .action((flags: PurgeFlags) => {
      const filter = fromCommandLine(() => purgeFilter(flags));
      return withClient(flags, async (client) => {
        const out = output(flags);
        const preview = await client.purge(filter) as PurgePreview;
        if (flags.yes !== true || preview.count === 0) {
          if (out.json) return out.printJson(preview);
          const what = describe(preview.filter);
          out.print(preview.count === 0 ? `no ${what} to delete` : `${preview.count} ${what} would be deleted; run again with --yes to delete them`);
          return;
        }
        const result = await client.purge({ ...filter, confirm: preview.confirm }) as PurgeResult;
        if (out.json) return out.printJson(result);
        out.print(`deleted ${result.deleted} ${describe(result.filter)}${result.skipped > 0 ? ` (${result.skipped} changed meanwhile, left alone)` : ''}`);
      });
    });

  scheduleOptions(clientOptions(program.command('reschedule <id>')))
    .description('give a recurring task a new schedule, from its next occurrence on (a run in flight finishes)')
    .action((id: string, flags: ClientFlags & ScheduleFlags) => {
      const schedule = fromCommandLine(() => {
        const s = scheduleFrom(flags);
        if (s === undefined) throw invalidArgument('schedule', 'give the new schedule: --every, --cron, --rrule or --schedule');
        return s;
      });
      return withClient(flags, async (client) => {
        const out = output(flags);
        const task: TaskView = await client.reschedule(id, schedule);
        if (out.json) return out.printJson(task);
        const when = task.nextRunAt === null ? `${state(task.state, out.style)}; the new schedule applies from its next occurrence` : `next run ${relative(task.nextRunAt, Date.now())} (${task.nextRunAt})`;
        out.print(`rescheduled ${task.id} (${task.type}, ${when})`);
      });
    });

  const typeControls = [
    ['pause-type', 'stop starting tasks of a type (stored: a restart keeps it); runs in flight finish', true],
    ['resume-type', 'start tasks of a paused type again', false],
  ] as const;
  for (const [name, description, pause] of typeControls) {
    clientOptions(program.command(`${name} <type>`))
      .description(description)
      .action((type: string, flags: ClientFlags) => withClient(flags, async (client) => {
        const out = output(flags);
        const info: TypeInfo = pause ? await client.pauseType(type) : await client.resumeType(type);
        if (out.json) return out.printJson(info);
        out.print(`${pause ? 'paused' : 'resumed'} type ${info.name}`);
      }));
  }
}

function purgeFilter(flags: PurgeFlags): PurgeFilter {
  if (flags.state === undefined) throw invalidArgument('--state', 'give the state to purge: finished, failed or terminated');
  return {
    state: flags.state as PurgeFilter['state'],
    ...(flags.type !== undefined ? { type: flags.type } : {}),
    ...(flags.before !== undefined ? { before: flags.before } : {}),
  };
}

function describe(filter: PurgeFilter): string {
  return `${filter.state} task(s)${filter.type !== undefined ? ` of type ${filter.type}` : ''}${filter.before !== undefined ? ` submitted before ${filter.before}` : ''}`;
}
