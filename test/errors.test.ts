import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLIENT_ERRORS, CONNECTION_ERRORS, HTTP_ERRORS, RUN_ERRORS, STARTUP_ERRORS } from '../src/errors.js';

describe('the error registry', () => {
  it('lists exactly the codes README.md documents in its error table', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Errors'), readme.indexOf('\n## ', readme.indexOf('## Errors') + 1));
    const documented = new Set([...section.matchAll(/^\| (.+?) \|/gm)].flatMap(([, cell]) => [...cell!.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!)));
    const registered = new Set<string>([...Object.keys(CLIENT_ERRORS), ...RUN_ERRORS, ...STARTUP_ERRORS, ...CONNECTION_ERRORS, ...HTTP_ERRORS]);
    expect([...documented].sort()).toEqual([...registered].sort());
  });
});
