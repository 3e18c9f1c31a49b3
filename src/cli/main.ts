#!/usr/bin/env node
import { Command } from 'commander';
import { isSpindleError } from '../errors.js';
import { registerRuntimeCommands } from './runtime-commands.js';
import { registerStart } from './start-command.js';
import { registerTaskCommands } from './task-commands.js';

// `spindle list | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command()
  .name('spindle')
  .description('Spindle: a durable job scheduler runtime')
  .showHelpAfterError();
registerStart(program);
registerTaskCommands(program);
registerRuntimeCommands(program);

// Errors are one line on stderr and exit 1; with --json the same error also goes to stdout as
// `{ "error": { code, message, … } }`, so scripts read one format.
program.parseAsync(process.argv).catch((err: unknown) => {
  if (isSpindleError(err) && process.argv.includes('--json')) process.stdout.write(`${JSON.stringify({ error: err.toJSON() })}\n`);
  if (isSpindleError(err)) {
    const path = err.details.path;
    const where = path === undefined || err.message.includes(path) ? '' : ` (${path})`;
    process.stderr.write(`spindle: ${err.code}: ${err.message}${where}\n`);
  } else {
    process.stderr.write(`spindle: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
});
