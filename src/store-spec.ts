import { join, resolve } from 'node:path';
import { invalidArgument } from './errors.js';

/**
 * Which store a runtime uses, as `--store` names it: LevelDB (embedded, the default) or a shared
 * PostgreSQL. The CLI reads it before anything loads, so it lives outside store/ and imports
 * nothing of either.
 */
export type StoreSpec = LevelSpec | PostgresSpec;

export interface PostgresSpec {
  readonly kind: 'postgres';
  /** The connection URL as given (it may hold a password: never echo it). */
  readonly url: string;
}

export interface LevelSpec {
  readonly kind: 'level';
  /** The LevelDB directory, absolute. */
  readonly path: string;
  /**
   * The data directory when the store is its default one (`<data>/store`), whose checks then
   * cover the store; null for a store elsewhere, which gets checks of its own.
   */
  readonly dataDir: string | null;
}

const LEVEL = 'level:';
const POSTGRES = /^postgres(ql)?:/i;

/**
 * Reads `spec` (undefined: the default, LevelDB in `<data>/store`; `level:DIR`: LevelDB in DIR,
 * relative to the working directory; `postgres://…`: a shared PostgreSQL). Anything else is refused
 * (INVALID_ARGUMENT, naming `field`) without echoing it whole: a database URL may hold a password.
 */
export function parseStoreSpec(spec: string | undefined, dataDir: string, field = 'store'): StoreSpec {
  if (spec === undefined) return Object.freeze({ kind: 'level', path: join(dataDir, 'store'), dataDir });
  if (typeof spec !== 'string') throw invalidArgument(field, 'must be a string such as level:DIR');
  if (POSTGRES.test(spec)) return Object.freeze({ kind: 'postgres', url: spec });
  if (!spec.startsWith(LEVEL)) {
    const kind = /^([A-Za-z][\w+.-]*):/.exec(spec)?.[1];
    if (kind === undefined) throw invalidArgument(field, `${JSON.stringify(spec)} names no kind of store; for LevelDB in that directory, use level:${spec}`);
    throw invalidArgument(field, `unknown kind of store "${kind}:"; use level:DIR (a LevelDB store in DIR), or leave it out for <data>/store`);
  }
  const dir = spec.slice(LEVEL.length);
  if (dir === '') throw invalidArgument(field, 'level: needs a directory, as in level:/var/lib/spindle/store');
  const path = resolve(dir);
  // The data directory holds the socket, the token and http.json: the store's files go beside them, never among them.
  if (path === resolve(dataDir)) throw invalidArgument(field, `${path} is the data directory itself; give the store a directory of its own`);
  return Object.freeze({ kind: 'level', path, dataDir: null });
}
