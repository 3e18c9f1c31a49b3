import { describe, expect, it } from 'vitest';
import { duration, relative, styleFor, table, wallTime } from '../../src/cli/format.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');

describe('CLI human output', () => {
  it.each([
    ['2026-11-23T12:00:00.400Z', 'now'],
    ['2026-11-23T12:00:03Z', 'in 3 s'],
    ['2026-11-23T11:59:57Z', '3 s ago'],
    ['2026-11-23T12:04:30Z', 'in 4 min'],
    ['2026-11-23T09:00:00Z', '3 h ago'],
    ['2026-11-26T12:00:00Z', 'in 3 d'],
  ])('says %s is "%s" relative to noon', (iso, text) => {
    expect(relative(iso, NOW)).toBe(text);
  });

  it.each([[null, '-'], [850, '850 ms'], [1500, '1.50 s'], [10_000, '10 s'], [12_345, '12.3 s'], [60_000, '1 min'], [61_000, '1 min 1 s'], [5_400_000, '1 h 30 min'], [90_000_000, '1 d 1 h']])(
    'writes %s ms as "%s"', (ms, text) => {
      expect(duration(ms)).toBe(text);
    });

  it('aligns columns by their visible width, colour codes included', () => {
    const plain = table(['id', 'state', 'x'], [['a', 'queued', '1'], ['bbbb', 'failed', '22']], { colour: false });
    expect(plain).toBe('id    state   x\na     queued  1\nbbbb  failed  22');
    const coloured = table(['id', 'state', 'x'], [['a', '\u001b[36mqueued\u001b[0m', '1']], { colour: true });
    expect(coloured.replace(/\u001b\[[0-9;]*m/g, '')).toBe('id  state   x\na   queued  1');
  });

  it('colours only a terminal, and never with NO_COLOR or TERM=dumb', () => {
    const tty = { isTTY: true } as NodeJS.WriteStream;
    const pipe = { isTTY: false } as NodeJS.WriteStream;
    expect(styleFor(tty, {})).toEqual({ colour: true });
    expect(styleFor(pipe, {})).toEqual({ colour: false });
    expect(styleFor(tty, { NO_COLOR: '1' })).toEqual({ colour: false });
    expect(styleFor(tty, { TERM: 'dumb' })).toEqual({ colour: false });
  });

  it('shows an instant as wall time with the zone\'s abbreviation', () => {
    expect(wallTime('2027-03-14T07:00:00.000Z', 'America/New_York')).toBe('2027-03-14 03:00:00 EDT');
    expect(wallTime('2027-01-01T00:00:00.000Z', 'UTC')).toBe('2027-01-01 00:00:00 UTC');
  });
});
