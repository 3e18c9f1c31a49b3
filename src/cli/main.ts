#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerDashboard } from './dashboard-command.js';
import { registerOpsCommands } from './ops-commands.js';
import { registerRuntimeCommands } from './runtime-commands.js';
import { EXIT_USAGE, fromCommander, reportError } from './report-error.js';
import { registerStart } from './start-command.js';
import { registerTaskCommands } from './task-commands.js';

// `spindle list | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

// dist/src/cli/main.js → the package's own package.json.
const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The command being parsed, for the hint in a usage error; undefined while at the top level. */
let command: string | undefined;

// exitOverride and configureOutput must come before the commands: each copies them when created.
const program = new Command()
  .name('spindle')
  .description('Spindle: a durable job scheduler runtime')
  .version(version, '-V, --version', 'print the version')
  .exitOverride()
  // Commander's own "error: …" line is replaced by reportError's; help still goes where asked.
  .configureOutput({ outputError: () => undefined })
  .hook('preSubcommand', (_program, sub) => { command = sub.name(); });
registerStart(program);
registerTaskCommands(program);
registerOpsCommands(program);
registerRuntimeCommands(program);
registerDashboard(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // --help and --version end here too, having printed what they were asked for.
    if (err.exitCode === 0) process.exit(0);
    // `spindle` alone: commander printed the help on stderr; that is the usage error.
    if (err.code === 'commander.help') process.exit(EXIT_USAGE);
    err = fromCommander(err, command);
  }
  process.exit(reportError(err, process.argv.includes('--json')));
});
