import type { Command } from 'commander';
import { Client } from '../client/client.js';
import { styleFor, type Style } from './format.js';

/** The options every command that talks to a runtime takes (SPEC §8). */
export interface ClientFlags {
  data?: string;
  socket?: string;
  json?: boolean;
}

export function clientOptions(command: Command): Command {
  return command
    .option('--data <dir>', 'the runtime\'s data directory (default $SPINDLE_DATA or ./.spindle)')
    .option('--socket <path>', 'the runtime\'s socket (default <data>/spindle.sock)')
    .option('--json', 'machine-readable output: the objects the protocol returns', false);
}

export interface Output {
  json: boolean;
  style: Style;
  /** Prints a line (or lines) to stdout. */
  print(text: string): void;
  /** Prints `value` as JSON: the same object the protocol answered. */
  printJson(value: unknown): void;
}

export function output(flags: ClientFlags): Output {
  return {
    json: flags.json === true,
    style: styleFor(process.stdout),
    print: (text) => process.stdout.write(`${text}\n`),
    printJson: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  };
}

/**
 * Connects, runs `work`, closes. One-shot commands do not wait out a runtime restart: a CLI call
 * that finds no runtime says so at once; `watch` and `--wait` ask for a reconnect window.
 */
export async function withClient<T>(flags: ClientFlags, work: (client: Client) => Promise<T>, reconnectWindowMs = 0): Promise<T> {
  const client = await Client.connect({
    ...(flags.data !== undefined ? { data: flags.data } : {}),
    ...(flags.socket !== undefined ? { socket: flags.socket } : {}),
    reconnectWindowMs,
  });
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}
