import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { readAddressFile } from '../api/address-file.js';
import { currentUid, describeUntrusted, untrustedComponent } from '../api/trusted-path.js';
import { dataDirOf } from '../client/socket-path.js';
import { SpindleError } from '../errors.js';

/**
 * `spindle dashboard`: the URL that logs a browser in (`http://HOST:PORT/?token=…`), from the
 * files the runtime keeps in its data directory. It reads two files and asks no one: it loads
 * neither the client nor the runtime.
 */
export function registerDashboard(program: Command): void {
  program.command('dashboard')
    .description('print the URL of the runtime\'s dashboard (with its token): needs `spindle start --http PORT`')
    .option('--data <dir>', 'the runtime\'s data directory (default $SPINDLE_DATA or ./.spindle)')
    .option('--json', 'machine-readable output: { url, address, readOnly }', false)
    .action((flags: { data?: string; json?: boolean }) => {
      const data = resolve(dataDirOf(flags));
      const uid = currentUid();
      const untrusted = uid === null ? null : untrustedComponent(data, uid);
      if (untrusted !== null && uid !== null) {
        throw new SpindleError('RUNTIME_UNTRUSTED', `not reading the dashboard's address from ${data}: ${describeUntrusted(untrusted, uid)}`, { path: untrusted.path });
      }
      const address = readAddressFile(data);
      if (address === null || !alive(address.pid)) {
        throw new SpindleError('RUNTIME_UNREACHABLE', `no runtime serves HTTP for ${data}; start one with \`spindle start --data ${flags.data ?? data} --http PORT\``, { path: data });
      }
      let token: string;
      try {
        token = readFileSync(join(data, 'http.token'), 'utf8').trim();
      } catch (err) {
        throw new SpindleError('FILE_UNREADABLE', `cannot read the HTTP token ${join(data, 'http.token')}: ${(err as Error).message}`, { path: join(data, 'http.token') }, err);
      }
      const url = `${address.url}?token=${encodeURIComponent(token)}`;
      if (flags.json === true) process.stdout.write(`${JSON.stringify({ url, address: address.url, readOnly: address.readOnly }, null, 2)}\n`);
      else process.stdout.write(`${url}\n`);
    });
}

/** Whether a process with that id runs (the address file of a runtime that crashed stays behind). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
