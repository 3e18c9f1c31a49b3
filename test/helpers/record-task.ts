import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './temp.js';

/** Appends `n attempt pid start` to params.log as it begins, then sleeps params.ms on its signal. */
export const RECORD = fileURLToPath(new URL('../fixtures/recovery-tasks/record.mjs', import.meta.url));

/** A fresh, empty log for RECORD runs, in a temp dir removed by removeTempDirs. */
export function recordLog(): string {
  const log = join(tempDir(), 'runs.log');
  writeFileSync(log, '');
  return log;
}

/** The `n` of each RECORD handler that began, in order. */
export function recordsBegun(log: string): number[] {
  return readFileSync(log, 'utf8').split('\n').filter((l) => l.endsWith(' start')).map((l) => Number(l.split(' ')[0]));
}
