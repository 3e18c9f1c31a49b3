import { describe, expect, it } from 'vitest';
import { LineReader } from '../../src/api/line-reader.js';

function reader(lines: string[], maxFrameBytes = 1024 * 1024): { reader: LineReader; faults: string[] } {
  const faults: string[] = [];
  const r = new LineReader(null, { maxFrameBytes, frameTimeoutMs: 60_000, onLine: (line) => lines.push(line), onFault: (code) => faults.push(code) });
  return { reader: r, faults };
}

describe('LineReader fed through push() (a socket read into one buffer)', () => {
  it('keeps every line whole when the same buffer is overwritten between reads, at every split', () => {
    const text = '{"a":"héllo 😀"}\n\n{"b":"€ ✓"}\n{"c":1}\n';
    const bytes = Buffer.from(text);
    const reused = Buffer.alloc(bytes.length);
    for (let size = 1; size <= bytes.length; size++) {
      const lines: string[] = [];
      const { reader: r, faults } = reader(lines);
      for (let at = 0; at < bytes.length; at += size) {
        const n = bytes.copy(reused, 0, at, Math.min(at + size, bytes.length));
        r.push(reused.subarray(0, n));
        // What the reader was given is gone before the next read, as with a socket's onread buffer.
        reused.fill(0xff);
      }
      expect(lines).toEqual(['{"a":"héllo 😀"}', '{"b":"€ ✓"}', '{"c":1}']);
      expect(faults).toEqual([]);
      r.stop();
    }
  });

  it('refuses a line past the limit once and takes nothing after it', () => {
    const lines: string[] = [];
    const { reader: r, faults } = reader(lines, 8);
    r.push(Buffer.from('short\n123456789'));
    r.push(Buffer.from('more\nlater\n'));
    expect(lines).toEqual(['short']);
    expect(faults).toEqual(['FRAME_TOO_LARGE']);
  });
});
