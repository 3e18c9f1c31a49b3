import { describe, expect, it } from 'vitest';
import type { TaskView } from '../../src/index.js';
import { Checker } from '../helpers/checker.js';
import { SpindleError } from '../../src/errors.js';

/** A stored task as the checker reads it: only id, params.cid, state and tries matter. */
function task(id: string, cid: string, tries = 1, state: TaskView['state'] = 'finished'): TaskView {
  return { id, params: { cid }, state, tries } as unknown as TaskView;
}

const lost = new SpindleError('CONNECTION_LOST', 'gone');

// The checker must catch what it claims to catch, or every chaos test passes vacuously.
describe('the chaos checker', () => {
  it('passes a clean history: acknowledged, in doubt and recovered, a killed run rerun on the next try', () => {
    const c = new Checker();
    c.ok(c.begin(['a', 'b']), ['1', '2']);
    c.failed(c.begin(['c', 'd']), lost);
    c.failed(c.begin(['e']), lost);
    const log = ['a 1 10 start', 'a 1 10 end', 'b 1 10 start', 'c 1 10 start', '- 0 10 kill', 'b 2 11 start', 'b 2 11 end', 'c 2 11 start', 'c 2 11 end', 'd 1 11 start', 'd 1 11 end', ''].join('\n');
    const v = c.check([task('1', 'a'), task('2', 'b', 2), task('3', 'c', 2), task('4', 'd')], log);
    expect(v).toMatchObject({ submitted: 5, acknowledged: 2, inDoubt: 3, inDoubtBatches: 2, recoveredBatches: 1, recovered: 2, lost: [], unexpected: [], halfBatches: 0, interrupted: 2, reruns: 2, overlapping: 0, afterFinished: 0, triesUnexplained: 0, triesMismatch: 0, kills: 1 });
  });

  it('counts an acknowledged task that is absent, under another id, or not finished as lost', () => {
    const c = new Checker();
    c.ok(c.begin(['a', 'b', 'c']), ['1', '2', '3']);
    const v = c.check([task('9', 'b'), task('3', 'c', 1, 'queued')], 'b 1 1 start\nb 1 1 end\n');
    expect(v.lost).toEqual(['a', 'b', 'c']);
    expect(v.unexpected).toEqual(['b']);
  });

  it('counts a refused, never submitted or twice-stored task as unexpected, and a half-stored batch', () => {
    const c = new Checker();
    c.failed(c.begin(['r']), new SpindleError('QUEUE_FULL', 'full'));
    c.failed(c.begin(['x', 'y']), lost);
    const v = c.check([task('1', 'r'), task('2', 'z'), task('3', 'x'), task('4', 'x')], '');
    expect(v.unexpected.sort()).toEqual(['r', 'x', 'z']);
    expect(v.halfBatches).toBe(1);
  });

  it('flags overlapping runs, a rerun with no kill, a try no kill explains, stored tries against the log, and torn lines', () => {
    const c = new Checker();
    c.ok(c.begin(['a', 'b', 'd']), ['1', '2', '4']);
    const log = [
      'a 1 10 start', 'a 2 10 start', 'a 1 10 end', 'a 2 10 end', // two runs at once
      'b 1 10 start', 'b 1 10 end', 'b 2 10 start', 'b 2 10 end', // ran again with no kill
      'd 3 10 start', 'd 3 10 end', // two tries spent with no kill (and a's and b's second tries too)
      'b 1 10 sta', // torn
      '',
    ].join('\n');
    const v = c.check([task('1', 'a', 2), task('2', 'b', 1), task('4', 'd', 3)], log);
    expect(v).toMatchObject({ overlapping: 1, afterFinished: 1, triesUnexplained: 3, triesMismatch: 1, tornLines: 1 });
  });

  it('sets apart a rerun after a handler returned just before a kill, for the store to confirm', () => {
    const c = new Checker();
    c.ok(c.begin(['a']), ['1']);
    const v = c.check([task('1', 'a', 2)], 'a 1 10 start\na 1 10 end\n- 0 10 kill\na 2 11 start\na 2 11 end\n');
    expect(v.rerunsAfterUnrecordedEnd).toEqual([{ cid: 'a', attempt: 1 }]);
    expect(v.afterFinished).toBe(0);
  });

  it('tells a worker that outlived its killed runtime (a ghost) from a double dispatch', () => {
    const c = new Checker();
    c.ok(c.begin(['a', 'b', 'd']), ['1', '2', '4']);
    const log = [
      'a 1 20 start', '- 0 10,20 kill', 'b 1 20 start', // b dispatched before the kill, started after it
      'a 2 21 start', '- 0 10,20 gone', // a's rerun began before the killed worker was seen gone
      'a 2 21 end', 'b 2 21 start', 'b 2 21 end',
      'd 1 21 start', 'd 2 21 start', 'd 1 21 end', 'd 2 21 end', // two live runs at once
      '',
    ].join('\n');
    const v = c.check([task('1', 'a', 2), task('2', 'b', 2), task('4', 'd', 2)], log);
    expect(v).toMatchObject({ ghosts: 1, ghostOverlaps: 1, overlapping: 1, reruns: 1, interrupted: 2 });
    expect(v.overlapCids.sort()).toEqual(['a', 'd']);
  });

  it('counts an execution that never ended and was never killed', () => {
    const c = new Checker();
    c.ok(c.begin(['a']), ['1']);
    expect(c.check([task('1', 'a')], 'a 1 10 start\n').unended).toBe(1);
  });
});
