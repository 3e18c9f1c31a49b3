#!/usr/bin/env node
import { Command } from 'commander';
import { isSpindleError } from '../errors.js';
import { registerStart } from './start-command.js';

const program = new Command()
  .name('spindle')
  .description('Spindle: a durable job scheduler runtime')
  .showHelpAfterError();
registerStart(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (isSpindleError(err)) {
    const path = err.details.path;
    const where = path === undefined || err.message.includes(path) ? '' : ` (${path})`;
    process.stderr.write(`spindle: ${err.code}: ${err.message}${where}\n`);
  } else {
    process.stderr.write(`spindle: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
});
