import type { Command } from 'commander';
import { invalidArgument } from '../errors.js';
import { numberOrText, parseJsonObject } from './flag-values.js';

/** SCHEDULE in SPEC §8: one form flag, plus the fields that qualify it. */
export interface ScheduleFlags {
  at?: string;
  in?: string;
  every?: string;
  cron?: string;
  rrule?: string;
  schedule?: string;
  tz?: string;
  start?: string;
  end?: string;
  count?: string;
}

const FORMS = ['at', 'in', 'every', 'cron', 'rrule', 'schedule'] as const;

/** `withCount: false` leaves `--count` to the command (for `preview` it is how many times to show). */
export function scheduleOptions(command: Command, { withCount = true }: { withCount?: boolean } = {}): Command {
  command
    .option('--at <instant>', 'once, at an ISO-8601 instant with an offset (e.g. 2026-12-01T09:00:00Z)')
    .option('--in <duration>', 'once, after a duration (e.g. 10m)')
    .option('--every <duration>', 'every interval (e.g. 15m)')
    .option('--cron <expr>', 'a 5- or 6-field cron expression, read in --tz')
    .option('--rrule <rule>', 'an RFC 5545 RRULE (e.g. FREQ=WEEKLY;BYDAY=MO;BYHOUR=9)')
    .option('--schedule <json>', 'any schedule as JSON, e.g. {"any":[{"cron":"0 9 * * *"},{"cron":"0 17 * * 5"}]}')
    .option('--tz <zone>', 'IANA zone for --cron and --rrule (default UTC)')
    .option('--start <instant>', 'no fire time before this')
    .option('--end <instant>', 'no fire time after this');
  return withCount ? command.option('--count <n>', 'at most this many fire times') : command;
}

/**
 * The schedule object the flags describe, or undefined for none. Values are passed as given
 * (digits as numbers): the runtime judges them and names the field it refuses.
 */
export function scheduleFrom(flags: ScheduleFlags): Record<string, unknown> | undefined {
  const forms = FORMS.filter((f) => flags[f] !== undefined);
  if (forms.length > 1) throw invalidArgument(`--${forms[1]!}`, `give one schedule form, not ${forms.map((f) => `--${f}`).join(' and ')}`);
  const qualifiers = (['tz', 'start', 'end', 'count'] as const).filter((f) => flags[f] !== undefined);
  const form = forms[0];
  if (form === undefined) {
    if (qualifiers.length > 0) throw invalidArgument(`--${qualifiers[0]!}`, 'qualifies a schedule: give --every, --cron or --rrule too');
    return undefined;
  }
  if (form === 'schedule') {
    if (qualifiers.length > 0) throw invalidArgument(`--${qualifiers[0]!}`, 'put it inside the --schedule JSON');
    return parseJsonObject(flags.schedule!, '--schedule');
  }
  const schedule: Record<string, unknown> = { [form]: numberOrText(flags[form]!) };
  for (const q of qualifiers) schedule[q] = q === 'tz' ? flags[q] : numberOrText(flags[q]!);
  return schedule;
}
