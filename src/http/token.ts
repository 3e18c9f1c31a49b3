import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, closeSync, lstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SpindleError } from '../errors.js';
import { currentUid } from '../api/trusted-path.js';

export const TOKEN_FILE = 'http.token';
const TOKEN_RE = /^[\x21-\x7e]{16,512}$/;

/**
 * The HTTP token in `<data>/http.token`: made at the first start with `--http` (32 random bytes,
 * base64url, mode 0600), read as it is afterwards, so a URL or a scrape config keeps working across
 * restarts. Delete the file to change it. A file that is not a regular file of this user's is
 * refused (DATA_DIR_UNSAFE); one readable by others is made 0600 first.
 */
export function ensureToken(dataDir: string): string {
  const path = join(dataDir, TOKEN_FILE);
  try {
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString('base64url')}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new SpindleError('STORE_READONLY', `cannot write the HTTP token ${path}: ${(err as Error).message}`, { path }, err);
    }
  }
  const st = lstatSync(path);
  const uid = currentUid();
  if (!st.isFile() || (uid !== null && st.uid !== uid)) {
    throw new SpindleError('DATA_DIR_UNSAFE', `refusing the HTTP token ${path}: it is not a regular file of yours; remove it and a new one is made at start`, { path });
  }
  if ((st.mode & 0o077) !== 0) chmodSync(path, 0o600);
  const token = readFileSync(path, 'utf8').trim();
  if (!TOKEN_RE.test(token)) {
    throw new SpindleError('INVALID_OPTION', `the HTTP token in ${path} must be 16 to 512 printable characters without spaces; remove the file and a new one is made at start`, { path });
  }
  return token;
}

/** Equal in time independent of where they differ (and of the length of either: both are hashed first). */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());
}

/**
 * The cookie's value: derived from the token, not the token itself, so a cookie that leaks (a
 * browser sends cookies to every port of a host) is no Bearer token for scripts and scrapers.
 */
export function cookieSecret(token: string): string {
  return createHmac('sha256', token).update('spindle http cookie v1').digest('base64url');
}
