import fc from 'fast-check';
import { createActor, initialTransition, transition } from 'xstate';
import { describe, expect, it } from 'vitest';
import { taskMachine } from '../../src/task/machine.js';
import type { GuardInput, TaskEventType, TaskState, TransitionAction } from '../../src/task/state.js';
import { TASK_EVENTS, TERMINAL_STATES } from '../../src/task/state.js';
import { transitionTable } from '../../src/task/transition-table.js';

const table = transitionTable();
const g = (over: Partial<GuardInput> = {}): GuardInput => ({ paused: false, tries: 1, maxTries: 3, recurring: false, hasNext: false, ...over });

describe('the derived transition table', () => {
  it.each<[TaskState, TaskEventType, Partial<GuardInput>, TaskState, string | null, TransitionAction[]]>([
    ['none', 'SUBMIT', {}, 'spooled', null, []],
    ['spooled', 'PLACE', {}, 'queued', null, []],
    ['spooled', 'REJECT', {}, 'failed', 'invalid', []],
    ['queued', 'REJECT', {}, 'failed', 'invalid', []],
    ['queued', 'START', {}, 'running', null, ['incrementTries']],
    ['running', 'SUCCEED', {}, 'finished', null, []],
    ['running', 'SUCCEED', { recurring: true, hasNext: true }, 'queued', null, ['resetTries', 'nextOccurrence']],
    ['running', 'SUCCEED', { recurring: true, hasNext: false }, 'finished', 'exhausted', []],
    ['running', 'FAIL', { tries: 1, maxTries: 3 }, 'queued', null, ['retry']],
    ['running', 'FAIL', { tries: 3, maxTries: 3 }, 'failed', 'error', []],
    ['running', 'FAIL', { tries: 3, maxTries: 3, recurring: true, hasNext: true }, 'queued', null, ['resetTries', 'nextOccurrence']],
    ['running', 'LOSE', { tries: 1, maxTries: 2 }, 'queued', null, ['retry']],
    ['running', 'LOSE', { tries: 2, maxTries: 2 }, 'failed', 'lost', []],
    ['running', 'TIME_OUT', { tries: 1, maxTries: 2 }, 'queued', null, ['retry']],
    ['running', 'TIME_OUT', { tries: 2, maxTries: 2 }, 'terminated', 'timeout', []],
    ['spooled', 'CANCEL', {}, 'failed', 'cancelled', []],
    ['queued', 'CANCEL', {}, 'failed', 'cancelled', []],
    ['running', 'CANCEL', {}, 'failed', 'cancelled', []],
    ['queued', 'PAUSE', {}, 'queued', null, ['setPaused']],
    ['running', 'PAUSE', {}, 'running', null, ['setPaused']],
    ['queued', 'RESUME', { paused: true }, 'queued', null, ['clearPaused']],
    ['queued', 'RUN_NOW', {}, 'queued', null, ['forceDue']],
    ['queued', 'EXHAUST', {}, 'finished', 'exhausted', []],
  ])('%s --%s %o--> %s (%s) %o', (from, event, input, to, reason, actions) => {
    expect(table.step(from, event, g(input))).toEqual({ from, to, reason, actions });
  });

  it.each<[TaskState, TaskEventType, Partial<GuardInput>]>([
    ['running', 'START', {}],
    ['queued', 'START', { paused: true }],
    ['queued', 'PAUSE', { paused: true }],
    ['queued', 'RESUME', { paused: false }],
    ['queued', 'RUN_NOW', { paused: true }],
    ['queued', 'SUCCEED', {}],
    ['none', 'CANCEL', {}],
    ['running', 'REJECT', {}],
    ['finished', 'CANCEL', {}],
    ['failed', 'RESUME', { paused: true }],
    ['terminated', 'START', {}],
  ])('refuses %s --%s %o', (from, event, input) => {
    expect(table.step(from, event, g(input))).toBeNull();
  });
});

/** Applies a table result's field effects the way the supervisor does. */
function applyActions(ctx: { tries: number; paused: boolean }, actions: readonly TransitionAction[]): void {
  for (const a of actions) {
    if (a === 'incrementTries') ctx.tries++;
    else if (a === 'resetTries') ctx.tries = 0;
    else if (a === 'setPaused') ctx.paused = true;
    else if (a === 'clearPaused') ctx.paused = false;
  }
}

const eventArb = fc.record({ type: fc.constantFrom(...TASK_EVENTS), hasNext: fc.boolean() });

describe('the table against the XState machine (property)', () => {
  it('takes the same transition as XState for every random event sequence', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.array(eventArb, { maxLength: 30 }), (maxTries, recurring, events) => {
        let [snap] = initialTransition(taskMachine, { maxTries, recurring });
        const mine = { state: 'none' as TaskState, tries: 0, paused: false, reason: null as string | null };
        for (const ev of events) {
          const legal = snap.can(ev);
          const res = table.step(mine.state, ev.type, { paused: mine.paused, tries: mine.tries, maxTries, recurring, hasNext: ev.hasNext });
          expect(res !== null).toBe(legal);
          if (!legal || res === null) continue;
          [snap] = transition(taskMachine, snap, ev);
          if (res.to !== res.from) {
            mine.state = res.to;
            mine.reason = res.reason;
          }
          applyActions(mine, res.actions);
          expect(snap.value).toBe(mine.state);
          expect(snap.context).toMatchObject({ tries: mine.tries, paused: mine.paused, reason: mine.reason });
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never leaves a terminal state', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 40 }), fc.integer({ min: 1, max: 3 }), fc.boolean(), (events, maxTries, recurring) => {
        let state: TaskState = 'none';
        const ctx = { tries: 0, paused: false };
        let ended = false;
        for (const ev of events) {
          const res = table.step(state, ev.type, { ...ctx, maxTries, recurring, hasNext: ev.hasNext });
          if (ended) expect(res).toBeNull();
          if (res === null) continue;
          state = res.to;
          applyActions(ctx, res.actions);
          if (TERMINAL_STATES.has(state)) ended = true;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('persisted snapshots', () => {
  it('restore the same state and context after a JSON round trip', () => {
    const actor = createActor(taskMachine, { input: { maxTries: 2 } });
    actor.start();
    for (const type of ['SUBMIT', 'PLACE', 'START', 'FAIL', 'PAUSE'] as const) actor.send({ type });
    const saved = JSON.parse(JSON.stringify(actor.getPersistedSnapshot())) as ReturnType<typeof actor.getPersistedSnapshot>;
    actor.stop();
    const restored = createActor(taskMachine, { snapshot: saved, input: {} });
    restored.start();
    expect(restored.getSnapshot().value).toBe('queued');
    expect(restored.getSnapshot().context).toMatchObject({ tries: 1, paused: true, maxTries: 2 });
    restored.stop();
  });
});
