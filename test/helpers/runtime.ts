import { fileURLToPath } from 'node:url';
import { Runtime } from '../../src/index.js';
import type { RuntimeOptions, TaskState, TaskView } from '../../src/index.js';
import { tempDir } from './temp.js';

export { removeTempDirs, tempDir } from './temp.js';

export const FIXTURE_TASKS = fileURLToPath(new URL('../fixtures/tasks', import.meta.url));

export function startRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  return Runtime.start({ data: tempDir(), tasks: FIXTURE_TASKS, workers: 2, logLevel: 'silent', killGrace: 500, ...options });
}

const TERMINAL: TaskState[] = ['finished', 'failed', 'terminated'];

/**
 * Resolves with the task once it reaches one of `states` (default: any terminal state). Listens
 * before it looks, so a change between the two is never missed. Rejects when the task ends in a
 * state not waited for before it was seen in one that was (it passed `running` before the first
 * look, say): no later event could end the wait.
 */
export function waitForState(runtime: Pick<Runtime, 'get' | 'subscribe'>, id: string, states: TaskState[] = TERMINAL): Promise<TaskView> {
  return new Promise((resolve, reject) => {
    let done = false;
    let reached = false;
    const settle = (fn: () => void): void => {
      if (done) return;
      done = true;
      unsubscribe();
      fn();
    };
    const check = (): void => {
      runtime.get(id).then((view) => {
        if (reached || states.includes(view.state)) settle(() => resolve(view));
        else if (TERMINAL.includes(view.state)) settle(() => reject(new Error(`task ${id} ended ${view.state} without being seen ${states.join(' or ')}`)));
      }, (err: unknown) => settle(() => reject(err)));
    };
    const unsubscribe = runtime.subscribe({ taskId: id, types: ['task.state'] }, (ev) => {
      if (ev.event !== 'task.state') return;
      if (states.includes(ev.data.to)) reached = true;
      if (reached || TERMINAL.includes(ev.data.to)) check();
    });
    check();
  });
}

/** Resolves with the first event the predicate accepts. */
export function nextEvent<T>(runtime: Runtime, pick: (ev: Parameters<Parameters<Runtime['subscribe']>[1]>[0]) => T | undefined): Promise<T> {
  return new Promise((resolve) => {
    const unsubscribe = runtime.subscribe({}, (ev) => {
      const v = pick(ev);
      if (v !== undefined) {
        unsubscribe();
        resolve(v);
      }
    });
  });
}

/**
 * Re-checks a condition every 10 ms until it holds. Without `bound` only the test's timeout ends
 * the wait; with it, the wait fails after `bound.ms` saying what it waited for.
 */
export async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, bound?: { ms: number; what: string }): Promise<T> {
  const deadline = bound === undefined ? Infinity : performance.now() + bound.ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > deadline) throw new Error(`waited ${bound!.ms} ms for ${bound!.what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
