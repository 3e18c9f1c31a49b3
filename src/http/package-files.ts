import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One file of the dashboard page, held in memory: the page is a few tens of kilobytes. */
export interface StaticFile {
  contentType: string;
  body: Buffer;
}

/** The routes of the page's files, and the files in dist/dashboard they answer with. */
const PAGE_FILES: ReadonlyArray<{ route: string; file: string; contentType: string }> = [
  { route: '/', file: 'index.html', contentType: 'text/html; charset=utf-8' },
  { route: '/assets/app.js', file: 'app.js', contentType: 'text/javascript; charset=utf-8' },
  { route: '/assets/app.css', file: 'app.css', contentType: 'text/css; charset=utf-8' },
  { route: '/assets/favicon.svg', file: 'favicon.svg', contentType: 'image/svg+xml' },
];

/**
 * The package's version, from its package.json: at `../../../` once compiled (dist/src/http/),
 * `../../` from the sources.
 */
export function packageVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (!existsSync(path)) continue;
    const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown; version?: unknown };
    if (pkg.name === 'spindle' && typeof pkg.version === 'string') return pkg.version;
  }
  return 'unknown';
}

/**
 * Where the built page is: `dist/dashboard/`, two levels up from this module once compiled
 * (dist/src/http/), or under `dist/` from the sources (src/http/, as the tests import them).
 */
export function dashboardDir(): string | null {
  for (const rel of ['../../dashboard/', '../../dist/dashboard/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  return null;
}

const PLACEHOLDER = '<!doctype html><meta charset="utf-8"><title>Spindle</title><h1>Spindle</h1><p>The dashboard page is not built: run <code>npm run build</code>. This server answers <code>/api/</code>, <code>/events</code> and <code>/metrics</code> all the same.</p>\n';

/**
 * The page's files by route, read once. Without a built page (sources never built), `/` answers
 * a placeholder that says how to build it, rather than failing the start.
 */
export function loadPageFiles(dir: string | null = dashboardDir()): ReadonlyMap<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (dir === null) {
    files.set('/', { contentType: 'text/html; charset=utf-8', body: Buffer.from(PLACEHOLDER) });
    return files;
  }
  for (const f of PAGE_FILES) files.set(f.route, { contentType: f.contentType, body: readFileSync(`${dir}${f.file}`) });
  return files;
}
