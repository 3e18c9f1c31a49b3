import type { IncomingMessage } from 'node:http';
import { cookieSecret, sameSecret } from './token.js';

/**
 * Who may call: a request carrying the token as `Authorization: Bearer TOKEN` (scripts, scrapers),
 * or the cookie a browser got by opening `/?token=TOKEN` once (the dashboard). Both compared in
 * constant time.
 */
export class HttpAuth {
  readonly #token: string;
  readonly #cookie: string;
  /** The cookie's name carries the port: cookies are per host, not per port, so two runtimes do not overwrite each other's. */
  readonly cookieName: string;

  constructor(token: string, port: number) {
    this.#token = token;
    this.#cookie = cookieSecret(token);
    this.cookieName = `spindle_${port}`;
  }

  /** True when the request carries the token or the cookie. */
  allows(req: IncomingMessage): boolean {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
      return m !== null && sameSecret(m[1]!, this.#token);
    }
    const cookie = cookieValue(req.headers.cookie, this.cookieName);
    return cookie !== undefined && sameSecret(cookie, this.#cookie);
  }

  /** True when `given` (from `/?token=`) is the token. */
  isToken(given: string): boolean {
    return sameSecret(given, this.#token);
  }

  /** Set-Cookie for a browser that showed the token: the page's requests carry it from then on. */
  setCookie(): string {
    return `${this.cookieName}=${this.#cookie}; HttpOnly; SameSite=Strict; Path=/`;
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * A write sent by another site's page: the browser says so in `Sec-Fetch-Site`, or, where it does
 * not send that, an `Origin` other than this server's. Clients that are not browsers send neither.
 * (The cookie is SameSite=Strict too: this is the second lock on the same door.)
 */
export function isCrossSite(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  return origin !== `http://${req.headers.host ?? ''}`;
}
