/** Human output for the CLI: aligned tables, relative times and, on a terminal only, colours. */

const ESC = '\u001b[';
const STATE_COLOURS: Record<string, string> = {
  spooled: '90',
  queued: '36',
  running: '33',
  finished: '32',
  failed: '31',
  terminated: '35',
};

export interface Style {
  colour: boolean;
}

/** Colours only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function styleFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): Style {
  return { colour: stream.isTTY === true && (env.NO_COLOR ?? '') === '' && env.TERM !== 'dumb' };
}

export function state(text: string, style: Style): string {
  const code = STATE_COLOURS[text];
  return style.colour && code !== undefined ? `${ESC}${code}m${text}${ESC}0m` : text;
}

export function dim(text: string, style: Style): string {
  return style.colour ? `${ESC}2m${text}${ESC}0m` : text;
}

export function bold(text: string, style: Style): string {
  return style.colour ? `${ESC}1m${text}${ESC}0m` : text;
}

const ANSI = /\u001b\[[0-9;]*m/g;
const visibleLength = (text: string): number => text.replace(ANSI, '').length;

/** Left-aligned columns two spaces apart; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], style: Style): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - visibleLength(c)))).join('  ').trimEnd();
  return [bold(line(header), style), ...rows.map(line)].join('\n');
}

/** "in 4 min", "3 s ago", "now": the span between `iso` and `now`, rounded down to one unit. */
export function relative(iso: string | null, now: number): string {
  if (iso === null) return '-';
  const ms = Date.parse(iso) - now;
  const span = Math.abs(ms);
  if (span < 1000) return 'now';
  const text = span < 60_000 ? `${Math.floor(span / 1000)} s`
    : span < 3_600_000 ? `${Math.floor(span / 60_000)} min`
    : span < 172_800_000 ? `${Math.floor(span / 3_600_000)} h`
    : `${Math.floor(span / 86_400_000)} d`;
  return ms > 0 ? `in ${text}` : `${text} ago`;
}

/** 850 → "850 ms", 1500 → "1.50 s", 10000 → "10 s", 5400000 → "1 h 30 min". */
export function duration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const parts = [[Math.floor(ms / 86_400_000), 'd'], [Math.floor((ms % 86_400_000) / 3_600_000), 'h'], [Math.floor((ms % 3_600_000) / 60_000), 'min'], [Math.floor((ms % 60_000) / 1000), 's']] as const;
  const first = parts.findIndex(([n]) => n > 0);
  return parts.slice(first, first + 2).filter(([n]) => n > 0).map(([n, unit]) => `${n} ${unit}`).join(' ');
}

/** A JSON value on one line, cut to `max` characters. */
export function brief(value: unknown, max = 60): string {
  if (value === undefined || value === null) return '-';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** An instant as wall time in `zone` with the zone's abbreviation: "2027-03-14 03:30:00 EDT". */
export function wallTime(iso: string, zone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
  }).formatToParts(new Date(iso));
  const part = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}:${part('second')} ${part('timeZoneName')}`;
}
