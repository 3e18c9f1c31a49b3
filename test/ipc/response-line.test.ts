import { describe, expect, it } from 'vitest';
import { SpindleError } from '../../src/errors.js';
import { errorResponse, responseLine, resultResponse, type RpcResponse } from '../../src/ipc/protocol.js';

/** Items of every kind JSON.stringify treats specially, in turn. */
function item(i: number): unknown {
  switch (i % 8) {
    case 0: return { id: `t${i}`, state: 'queued', params: { s: 'héllo 😀 "quoted" \\ \n' }, lastRun: null, n: i, f: 1.5 };
    case 1: return undefined;
    case 2: return () => i;
    case 3: return new Date(Date.UTC(2026, 0, 1, 0, 0, i));
    case 4: return { toJSON: () => ({ custom: true }) };
    case 5: return [i, null, [{}], 'x'];
    case 6: return null;
    default: return { skipped: undefined, fn: () => 0, kept: true };
  }
}

describe('responseLine (the socket\'s reply encoding)', () => {
  it('gives the bytes of JSON.stringify and a newline, for results of every length and ids of every kind', () => {
    for (const length of [0, 1, 99, 100, 101, 250, 1_000]) {
      for (const id of [7, 'abc"\u00e9', null]) {
        const response = resultResponse(id, Array.from({ length }, (_, i) => item(i)));
        const pieces = responseLine(response);
        expect(pieces.join('')).toBe(`${JSON.stringify(response)}\n`);
        expect(pieces.length).toBe(length > 100 ? Math.ceil(length / 100) + 1 : 1);
      }
    }
  });

  it('leaves other answers whole', () => {
    const answers: RpcResponse[] = [
      resultResponse(1, { tasks: Array.from({ length: 500 }, (_, i) => ({ id: `t${i}` })), cursor: null }),
      errorResponse(2, new SpindleError('NOT_FOUND', 'no task "x"', { field: 'id' })),
      resultResponse(3, 'text'),
    ];
    for (const response of answers) expect(responseLine(response)).toEqual([`${JSON.stringify(response)}\n`]);
  });

  it('throws what JSON.stringify throws, whichever piece holds the value', () => {
    const result: unknown[] = Array.from({ length: 300 }, (_, i) => ({ i }));
    result[250] = { big: 1n };
    expect(() => responseLine(resultResponse(1, result))).toThrow(TypeError);
  });
});
