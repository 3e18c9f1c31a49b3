import { lstatSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `<data>/http.json`: where the runtime's HTTP server listens, written once it listens and removed
 * at stop, so `spindle dashboard` finds it without asking the runtime. Imports node only: the
 * dashboard command is a light client.
 */
export const ADDRESS_FILE = 'http.json';

export interface HttpAddress {
  /** The base URL, e.g. `http://127.0.0.1:8080/` (a wildcard host shows as loopback). */
  url: string;
  host: string;
  port: number;
  readOnly: boolean;
  pid: number;
}

export function writeAddressFile(dataDir: string, address: HttpAddress): void {
  const path = join(dataDir, ADDRESS_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(address)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** Removes the file if it still describes `address` (another runtime may have written its own since). */
export function removeAddressFile(dataDir: string, address: HttpAddress): void {
  const path = join(dataDir, ADDRESS_FILE);
  const found = readAddressFile(dataDir);
  if (found === null || found.pid !== address.pid || found.port !== address.port) return;
  try {
    if (lstatSync(path).isFile()) unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** The address file, or null when there is none (no runtime serves HTTP here). */
export function readAddressFile(dataDir: string): HttpAddress | null {
  let text: string;
  try {
    text = readFileSync(join(dataDir, ADDRESS_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const value = JSON.parse(text) as Partial<HttpAddress>;
    if (typeof value.url !== 'string' || typeof value.port !== 'number' || typeof value.pid !== 'number') return null;
    return value as HttpAddress;
  } catch {
    return null;
  }
}
