import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpindleError } from '../../src/errors.js';
import type { Registry } from '../../src/task/registry.js';
import { loadRegistry } from '../../src/task/registry.js';
import { errorOf } from '../helpers/errors.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

// A task module whose params schema uses standard formats, and one with a made-up format.
const MAIL = `export default { name: 'mail', params: {
  type: 'object',
  properties: {
    to: { type: 'string', format: 'email' },
    subject: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    link: { type: 'string', format: 'uri' },
  },
  required: ['to', 'subject'],
  additionalProperties: false,
}, run() {} };
`;
const ODD = `export default { name: 'odd', params: { type: 'string', format: 'colour-name' }, run() {} };\n`;

let reg: Registry;
const warnings: Array<{ file?: string; msg: string }> = [];

beforeAll(async () => {
  const dir = tempDir('spindle-tasks-');
  writeFileSync(join(dir, 'mail.mjs'), MAIL);
  writeFileSync(join(dir, 'odd.mjs'), ODD);
  const logger = pino({ level: 'warn' }, { write: (s: string) => { warnings.push(JSON.parse(s) as { msg: string }); } });
  reg = await loadRegistry({ tasksDir: dir, logger });
});

afterAll(() => removeTempDirs());

const refusal = (params: unknown): SpindleError => {
  const err = errorOf(() => reg.types.get('mail')!.validateParams(params));
  expect(err.code).toBe('INVALID_PARAMS');
  return err;
};

describe('params formats', () => {
  it('loads a schema with standard formats without a warning', () => {
    expect(reg.problems).toEqual([]);
    expect(warnings.filter((w) => w.file?.endsWith('mail.mjs'))).toEqual([]);
  });

  it('checks email, date-time and uri rather than ignoring them', () => {
    expect(() => reg.types.get('mail')!.validateParams({ to: 'ada@example.org', subject: 's', at: '2026-12-06T09:00:00Z', link: 'https://example.org/x' })).not.toThrow();
    expect(refusal({ to: 'not an address', subject: 's' }).details.paths).toEqual(['/to']);
    expect(refusal({ to: 'ada@example.org', subject: 's', at: 'tomorrow' }).details.paths).toEqual(['/at']);
    expect(refusal({ to: 'ada@example.org', subject: 's', link: 'no scheme' }).details.paths).toEqual(['/link']);
  });

  it('warns once, naming the file, about a format that is not a standard one', () => {
    const odd = warnings.filter((w) => w.file?.endsWith('odd.mjs'));
    expect(odd).toHaveLength(1);
    expect(odd[0]!.msg).toContain('colour-name');
  });
});

describe('INVALID_PARAMS reasons', () => {
  it('carries the reason for each path in details.reasons and in the message, besides details.paths', () => {
    const err = refusal({ to: 7, extra: true });
    expect([...err.details.paths!].sort()).toEqual(['/extra', '/subject', '/to']);
    expect(err.details.reasons).toHaveLength(3);
    expect(err.details.reasons).toEqual(expect.arrayContaining([
      { path: '/to', reason: 'must be string' },
      { path: '/subject', reason: 'is required' },
      { path: '/extra', reason: 'is not allowed' },
    ]));
    for (const text of ['/to must be string', '/subject is required', '/extra is not allowed']) expect(err.message).toContain(text);
  });

  it('gives a format failure its own reason', () => {
    expect(refusal({ to: 'nope', subject: 's' }).details.reasons).toEqual([{ path: '/to', reason: 'must match format "email"' }]);
  });
});
