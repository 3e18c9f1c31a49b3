import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime, TaskView } from '../../src/index.js';
import { removeTempDirs, startRuntime, waitForState } from '../helpers/runtime.js';

const TERMINAL = new Set(['finished', 'failed', 'terminated']);

let runtime: Runtime;
beforeAll(async () => {
  runtime = await startRuntime({ retention: 'forever' });
});
afterAll(async () => {
  await runtime.stop(2000);
  removeTempDirs();
});

/** Non-terminal tasks are running, or queued and either paused or due at some time. */
function assertNotStuck(v: TaskView): void {
  if (TERMINAL.has(v.state)) return;
  if (v.state === 'running') return;
  expect(v.state).toBe('queued');
  expect(v.paused || v.nextRunAt !== null).toBe(true);
}

const taskArb = fc.record({
  type: fc.constantFrom('noop', 'throws', 'flaky', 'sleep'),
  maxTries: fc.integer({ min: 1, max: 3 }),
  future: fc.boolean(),
});
const opArb = fc.record({ op: fc.constantFrom('cancel', 'pause', 'resume', 'runNow', 'get'), target: fc.nat() });

describe('random control sequences (property)', () => {
  it('never leave a task stuck, never apply an illegal transition, and always end terminal', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(taskArb, { minLength: 1, maxLength: 6 }), fc.array(opArb, { maxLength: 25 }), async (specs, ops) => {
        const tasks = await runtime.submitMany(specs.map((s) => ({
          type: s.type,
          maxTries: s.maxTries,
          params: s.type === 'sleep' ? { ms: 20 } : s.type === 'flaky' ? { succeedOn: 2 } : {},
          ...(s.future ? { schedule: { in: '1h' } } : {}),
        })));
        for (const { op, target } of ops) {
          const id = tasks[target % tasks.length]!.id;
          try {
            const view = op === 'get' ? await runtime.get(id) : await runtime[op](id);
            assertNotStuck(view);
          } catch (err) {
            expect((err as { code?: string }).code).toBe('INVALID_STATE');
          }
        }
        // Bring every task to an end: resume, run what waits, and wait.
        for (const t of tasks) {
          const v = await runtime.get(t.id);
          assertNotStuck(v);
          if (v.paused) await runtime.resume(t.id).catch(() => undefined);
          if ((await runtime.get(t.id)).state === 'queued') await runtime.runNow(t.id).catch(() => undefined);
        }
        for (const t of tasks) {
          const end = await waitForState(runtime, t.id);
          expect(TERMINAL.has(end.state)).toBe(true);
          const history = await runtime.history(t.id);
          expect(history[0]!.from).toBe('none');
          for (let i = 1; i < history.length; i++) {
            expect(history[i]!.from).toBe(history[i - 1]!.to);
            expect(TERMINAL.has(history[i]!.from)).toBe(false);
          }
          expect(history[history.length - 1]!.to).toBe(end.state);
        }
      }),
      { numRuns: 15 },
    );
  });
});
