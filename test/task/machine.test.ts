import fc from 'fast-check';
import type { AnyStateMachine } from 'xstate';
import { assign, createActor, createMachine, initialTransition, transition } from 'xstate';
import { describe, expect, it } from 'vitest';
import type { TaskMachineEvent } from '../../src/task/machine.js';
import { taskMachine } from '../../src/task/machine.js';
import type { GuardInput, TaskEventType, TaskReason, TaskState, TransitionAction, TransitionResult } from '../../src/task/state.js';
import { REOPENABLE_STATES, TASK_EVENTS, TERMINAL_STATES } from '../../src/task/state.js';
import { deriveTransitionTable, MachineDefinitionError, transitionTable } from '../../src/task/transition-table.js';

const table = transitionTable();
const g = (over: Partial<GuardInput> = {}): GuardInput => ({ paused: false, tries: 0, maxTries: 3, recurring: false, hasNext: false, ...over });

/** The actions XState hands back to run: the scheduling markers. The others only write context. */
const MARKERS: ReadonlySet<TransitionAction> = new Set(['retry', 'nextOccurrence', 'forceDue']);

type TaskSnapshot = ReturnType<typeof taskMachine.resolveState>;

/** A machine snapshot standing in `state` with the task fields of `input`. */
function snapshotAt(state: TaskState, input: GuardInput, reason: TaskReason | null = null): TaskSnapshot {
  const { paused, tries, maxTries, recurring } = input;
  return taskMachine.resolveState({ value: state, context: { paused, tries, maxTries, recurring, reason } });
}

/** The task fields the supervisor keeps, moved the way its #apply moves them. */
interface Mirror {
  state: TaskState;
  paused: boolean;
  tries: number;
  maxTries: number;
  recurring: boolean;
  reason: TaskReason | null;
}

function apply(m: Mirror, res: TransitionResult): void {
  if (res.to !== res.from) {
    m.state = res.to;
    m.reason = res.reason;
  }
  for (const a of res.actions) {
    if (a === 'incrementTries') m.tries++;
    else if (a === 'resetTries') m.tries = 0;
    else if (a === 'setPaused') m.paused = true;
    else if (a === 'clearPaused') m.paused = false;
    else if (a === 'refundTry') m.tries = Math.max(0, m.tries - 1);
  }
}

const guardInputOf = (m: Mirror, ev: TaskMachineEvent): GuardInput => ({
  paused: m.paused, tries: m.tries, maxTries: m.maxTries, recurring: m.recurring, hasNext: ev.hasNext === true,
});

type Row = [from: TaskState, event: TaskEventType, input: Partial<GuardInput>, to: TaskState, reason: TaskReason | null, actions: TransitionAction[]];

const runEndedRows = ([event, final, reason]: [TaskEventType, TaskState, TaskReason]): Row[] => [
  ['running', event, { tries: 1, maxTries: 3 }, 'queued', null, ['retry']],
  // Tries left win over the next occurrence: a recurring occurrence retries before moving on.
  ['running', event, { tries: 1, maxTries: 3, recurring: true, hasNext: true }, 'queued', null, ['retry']],
  ['running', event, { tries: 3, maxTries: 3, recurring: true, hasNext: true }, 'queued', null, ['resetTries', 'nextOccurrence']],
  ['running', event, { tries: 3, maxTries: 3 }, final, reason, []],
  ['running', event, { tries: 3, maxTries: 3, hasNext: true }, final, reason, []],
  ['running', event, { tries: 3, maxTries: 3, recurring: true, hasNext: false }, final, reason, []],
];

const ROWS: Row[] = [
  ['none', 'SUBMIT', {}, 'spooled', null, []],
  ['spooled', 'PLACE', {}, 'queued', null, []],
  ['spooled', 'REJECT', {}, 'failed', 'invalid', []],
  ['queued', 'REJECT', {}, 'failed', 'invalid', []],
  ['queued', 'START', {}, 'running', null, ['incrementTries']],
  ['running', 'SUCCEED', { recurring: true, hasNext: true }, 'queued', null, ['resetTries', 'nextOccurrence']],
  ['running', 'SUCCEED', { recurring: true, hasNext: false }, 'finished', 'exhausted', []],
  ['running', 'SUCCEED', {}, 'finished', null, []],
  ['running', 'SUCCEED', { hasNext: true }, 'finished', null, []],
  ...runEndedRows(['FAIL', 'failed', 'error']),
  ...runEndedRows(['LOSE', 'failed', 'lost']),
  ...runEndedRows(['TIME_OUT', 'terminated', 'timeout']),
  ['spooled', 'CANCEL', {}, 'failed', 'cancelled', []],
  ['queued', 'CANCEL', {}, 'failed', 'cancelled', []],
  ['queued', 'CANCEL', { paused: true }, 'failed', 'cancelled', []],
  ['running', 'CANCEL', {}, 'failed', 'cancelled', []],
  ['spooled', 'PAUSE', {}, 'spooled', null, ['setPaused']],
  ['queued', 'PAUSE', {}, 'queued', null, ['setPaused']],
  ['running', 'PAUSE', {}, 'running', null, ['setPaused']],
  ['spooled', 'RESUME', { paused: true }, 'spooled', null, ['clearPaused']],
  ['queued', 'RESUME', { paused: true }, 'queued', null, ['clearPaused']],
  ['running', 'RESUME', { paused: true }, 'running', null, ['clearPaused']],
  ['queued', 'RUN_NOW', {}, 'queued', null, ['forceDue']],
  // A graceful stop the handler honoured: queued again, the try given back, whatever tries are left.
  ['running', 'INTERRUPT', { tries: 1, maxTries: 1 }, 'queued', 'interrupted', ['refundTry']],
  ['running', 'INTERRUPT', { tries: 2, maxTries: 3, recurring: true, hasNext: true }, 'queued', 'interrupted', ['refundTry']],
  // An operator's retry of an ended task: queued again, fresh tries, unpaused, due now.
  ['failed', 'RETRY', { tries: 3, maxTries: 3 }, 'queued', null, ['resetTries', 'clearPaused', 'forceDue']],
  ['failed', 'RETRY', { tries: 1, maxTries: 1, paused: true }, 'queued', null, ['resetTries', 'clearPaused', 'forceDue']],
  ['failed', 'RETRY', { tries: 2, maxTries: 2, recurring: true }, 'queued', null, ['resetTries', 'clearPaused', 'forceDue']],
  ['terminated', 'RETRY', { tries: 3, maxTries: 3 }, 'queued', null, ['resetTries', 'clearPaused', 'forceDue']],
];

describe('the derived transition table', () => {
  it.each(ROWS)('%s --%s %o--> %s (%s) %o', (from, event, over, to, reason, actions) => {
    const res = table.step(from, event, g(over));
    expect(res).toEqual({ from, to, reason, actions });
    expect(Object.isFrozen(res) && Object.isFrozen(res?.actions)).toBe(true);
    expect(table.step(from, event, g(over))).toBe(res);
  });

  it.each(ROWS)('agrees with XState on %s --%s %o', (from, event, over, to, reason, actions) => {
    const input = g(over);
    const [next, executed] = transition(taskMachine, snapshotAt(from, input), { type: event, hasNext: input.hasNext });
    const m: Mirror = { state: from, ...input, reason: null };
    apply(m, table.step(from, event, input)!);
    expect(next.value).toBe(to);
    expect(next.context).toEqual({ paused: m.paused, tries: m.tries, maxTries: m.maxTries, recurring: m.recurring, reason });
    expect(executed.map((a) => a.type)).toEqual(actions.filter((a) => MARKERS.has(a)));
  });

  it.each<[TaskState, TaskEventType, Partial<GuardInput>]>([
    ['none', 'CANCEL', {}],
    ['none', 'PLACE', {}],
    ['spooled', 'SUBMIT', {}],
    ['spooled', 'START', {}],
    ['spooled', 'RUN_NOW', {}],
    ['queued', 'PLACE', {}],
    ['queued', 'START', { paused: true }],
    ['queued', 'SUCCEED', {}],
    ['queued', 'FAIL', {}],
    ['queued', 'RUN_NOW', { paused: true }],
    ['running', 'START', {}],
    ['running', 'REJECT', {}],
    ['running', 'RUN_NOW', {}],
    ['spooled', 'INTERRUPT', {}],
    ['queued', 'INTERRUPT', {}],
    ['spooled', 'PAUSE', { paused: true }],
    ['queued', 'PAUSE', { paused: true }],
    ['running', 'PAUSE', { paused: true }],
    ['spooled', 'RESUME', {}],
    ['queued', 'RESUME', {}],
    ['running', 'RESUME', {}],
    ['none', 'RETRY', {}],
    ['spooled', 'RETRY', {}],
    ['queued', 'RETRY', {}],
    ['running', 'RETRY', { tries: 3, maxTries: 3 }],
    ['finished', 'RETRY', {}],
    ['finished', 'RETRY', { recurring: true }],
  ])('refuses %s --%s %o, as XState does', (from, event, over) => {
    const input = g(over);
    expect(table.step(from, event, input)).toBeNull();
    expect(snapshotAt(from, input).can({ type: event, hasNext: input.hasNext })).toBe(false);
  });

  it('refuses every event in every terminal state, whatever the input, but RETRY in failed and terminated', () => {
    for (const state of TERMINAL_STATES) {
      for (const event of TASK_EVENTS) {
        if (event === 'RETRY' && REOPENABLE_STATES.has(state)) continue;
        for (const input of [g(), g({ paused: true }), g({ recurring: true, hasNext: true }), g({ tries: 9, maxTries: 1 })]) {
          expect(table.step(state, event, input), `${state} --${event}`).toBeNull();
        }
      }
    }
  });

  it('accepts nothing but SUBMIT in none', () => {
    const legal = TASK_EVENTS.filter((e) => table.step('none', e, g()) !== null);
    expect(legal).toEqual(['SUBMIT']);
  });

  it('is built once and shared', () => {
    expect(transitionTable()).toBe(table);
  });
});

// ── properties ──────────────────────────────────────────────────────────────────────────────

/**
 * One step of a walk: `pick` chooses among the events XState's `can()` accepts (so walks reach
 * deep states), or among all events when `any` is set (so refusals are exercised too).
 */
const stepArb = fc.record(
  { pick: fc.nat(), any: fc.boolean(), hasNext: fc.boolean() },
  { requiredKeys: ['pick', 'any'] },
);
type Step = { pick: number; any: boolean; hasNext?: boolean };

const startArb = fc.record({
  maxTries: fc.integer({ min: 1, max: 4 }),
  tries: fc.integer({ min: 0, max: 5 }),
  paused: fc.boolean(),
  recurring: fc.boolean(),
});

function eventFor(snap: TaskSnapshot, s: Step): TaskMachineEvent {
  const withNext = (type: TaskEventType): TaskMachineEvent => (s.hasNext === undefined ? { type } : { type, hasNext: s.hasNext });
  const legal = s.any ? [] : TASK_EVENTS.filter((e) => snap.can(withNext(e)));
  const from = legal.length > 0 ? legal : TASK_EVENTS;
  return withNext(from[s.pick % from.length]!);
}

describe('the table against the XState machine (property)', () => {
  it('takes the transition XState takes, with the same state, reason and field effects, and refuses exactly what XState refuses', () => {
    fc.assert(
      fc.property(startArb, fc.array(stepArb, { maxLength: 30 }), (start, steps) => {
        let [snap] = initialTransition(taskMachine, start);
        const m: Mirror = { state: 'none', ...start, reason: null };
        for (const s of steps) {
          const ev = eventFor(snap, s);
          const legal = snap.can(ev);
          const res = table.step(m.state, ev.type, guardInputOf(m, ev));
          const [next, executed] = transition(taskMachine, snap, ev);
          expect(res !== null, `${m.state} --${ev.type}`).toBe(legal);
          if (res === null) {
            expect(next.value).toBe(snap.value);
            expect(next.context).toEqual(snap.context);
            expect(executed).toEqual([]);
            continue;
          }
          expect(res.from).toBe(m.state);
          apply(m, res);
          const { state, ...fields } = m;
          expect(next.value).toBe(state);
          expect(next.context).toEqual(fields);
          // failed and terminated take RETRY, so only finished is final to XState.
          expect(next.status).toBe(TERMINAL_STATES.has(state) && !REOPENABLE_STATES.has(state) ? 'done' : 'active');
          expect(executed.map((a) => a.type)).toEqual(res.actions.filter((a) => MARKERS.has(a)));
          snap = next;
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('never leaves a terminal state but by RETRY (to queued, fresh tries), in the table or in XState', () => {
    fc.assert(
      fc.property(startArb, fc.array(stepArb, { maxLength: 40 }), (start, steps) => {
        let [snap] = initialTransition(taskMachine, start);
        const m: Mirror = { state: 'none', ...start, reason: null };
        let ended: { state: TaskState; reason: TaskReason | null } | null = null;
        for (const s of steps) {
          const ev = eventFor(snap, s);
          const res = table.step(m.state, ev.type, guardInputOf(m, ev));
          [snap] = transition(taskMachine, snap, ev);
          if (ended !== null && ev.type === 'RETRY' && REOPENABLE_STATES.has(ended.state)) {
            expect(res).toMatchObject({ from: ended.state, to: 'queued', reason: null });
            expect(snap.value).toBe('queued');
            expect(snap.context).toMatchObject({ tries: 0, paused: false, reason: null });
            apply(m, res!);
            ended = null;
            continue;
          }
          if (ended !== null) {
            expect(res).toBeNull();
            expect(snap.value).toBe(ended.state);
            expect(snap.context.reason).toBe(ended.reason);
            continue;
          }
          if (res !== null) apply(m, res);
          if (TERMINAL_STATES.has(m.state)) ended = { state: m.state, reason: m.reason };
        }
      }),
      { numRuns: 1000 },
    );
  });
});

// ── persistence ─────────────────────────────────────────────────────────────────────────────

describe('persisted snapshots', () => {
  it('restore the same state and context after a JSON round trip', () => {
    const actor = createActor(taskMachine, { input: { maxTries: 2 } });
    actor.start();
    for (const type of ['SUBMIT', 'PLACE', 'START', 'FAIL', 'PAUSE'] as const) actor.send({ type });
    const saved: unknown = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    actor.stop();
    const restored = createActor(taskMachine, { snapshot: saved as TaskSnapshot, input: {} });
    restored.start();
    expect(restored.getSnapshot().value).toBe('queued');
    expect(restored.getSnapshot().context).toEqual({ paused: true, tries: 1, maxTries: 2, recurring: false, reason: null });
    restored.send({ type: 'START' });
    expect(restored.getSnapshot().value).toBe('queued');
    restored.send({ type: 'RESUME' });
    restored.send({ type: 'START' });
    expect(restored.getSnapshot().value).toBe('running');
    restored.stop();
  });

  it('restore any reachable snapshot, which then moves on as the original would (property)', () => {
    fc.assert(
      fc.property(startArb, fc.array(stepArb, { maxLength: 30 }), fc.nat(), (start, steps, lastPick) => {
        const actor = createActor(taskMachine, { input: start });
        actor.start();
        // A finished actor is stopped and only warns about further events.
        for (const s of steps) if (actor.getSnapshot().status === 'active') actor.send(eventFor(actor.getSnapshot(), s));
        const original = actor.getSnapshot();
        const saved: unknown = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
        actor.stop();

        const restored = createActor(taskMachine, { snapshot: saved as TaskSnapshot, input: {} });
        restored.start();
        const back = restored.getSnapshot();
        expect(back.value).toBe(original.value);
        expect(back.status).toBe(original.status);
        expect(back.context).toEqual(original.context);

        if (original.status === 'active') {
          const ev = eventFor(original, { pick: lastPick, any: false });
          const [expected] = transition(taskMachine, original, ev);
          restored.send(ev);
          expect(restored.getSnapshot().value).toBe(expected.value);
          expect(restored.getSnapshot().context).toEqual(expected.context);
        }
        restored.stop();
      }),
      { numRuns: 200 },
    );
  });
});

// ── derivation refuses what it cannot follow ────────────────────────────────────────────────

type StatesConfig = Record<string, object>;

/**
 * A machine shaped like the task machine (every state, the same final ones) whose `queued` state
 * is replaced; unknown guards and actions are fine here, since XState resolves them only on use.
 */
function machineWith(queued: object, extra: StatesConfig = {}): AnyStateMachine {
  const states: StatesConfig = {
    none: { on: { SUBMIT: { target: 'spooled', actions: [{ type: 'setReason', params: { reason: null } }] } } },
    spooled: {},
    queued,
    running: {},
    finished: { type: 'final' },
    failed: { type: 'final' },
    terminated: { type: 'final' },
    ...extra,
  };
  return createMachine({ id: 'probe', initial: 'none', states } as Parameters<typeof createMachine>[0]);
}

const reason = (r: unknown) => ({ type: 'setReason', params: { reason: r } });

describe('deriveTransitionTable', () => {
  it('derives a machine it understands, forbidden transitions included', () => {
    const probe = machineWith({
      on: {
        START: { guard: 'notPaused', target: 'running', actions: [reason(null), 'incrementTries'] },
        // Targetless and actionless: XState lets it block the event, so the table must refuse too.
        RUN_NOW: [{ guard: 'paused' }, { actions: ['forceDue'] }],
      },
    });
    const t = deriveTransitionTable(probe);
    expect(t.step('queued', 'START', g())).toEqual({ from: 'queued', to: 'running', reason: null, actions: ['incrementTries'] });
    expect(t.step('queued', 'START', g({ paused: true }))).toBeNull();
    expect(t.step('queued', 'RUN_NOW', g({ paused: true }))).toBeNull();
    expect(t.step('queued', 'RUN_NOW', g())).toEqual({ from: 'queued', to: 'queued', reason: null, actions: ['forceDue'] });
    const xs = probe.provide({ guards: { paused: ({ context }: { context: { paused: boolean } }) => context.paused } });
    expect(xs.resolveState({ value: 'queued', context: { paused: true } }).can({ type: 'RUN_NOW' })).toBe(false);
    expect(xs.resolveState({ value: 'queued', context: { paused: false } }).can({ type: 'RUN_NOW' })).toBe(true);
  });

  it.each<[string, AnyStateMachine]>([
    ['an unknown guard', machineWith({ on: { START: { guard: 'isFriday', target: 'running', actions: [reason(null)] } } })],
    ['an inline guard', machineWith({ on: { START: { guard: () => true, target: 'running', actions: [reason(null)] } } })],
    ['a guard with params', machineWith({ on: { START: { guard: { type: 'paused', params: { x: 1 } }, target: 'running', actions: [reason(null)] } } })],
    ['an unknown action', machineWith({ on: { START: { target: 'running', actions: [reason(null), 'sendEmail'] } } })],
    ['an inline action', machineWith({ on: { START: { target: 'running', actions: [reason(null), assign({})] } } })],
    ['a state change without a reason', machineWith({ on: { START: { target: 'running', actions: ['incrementTries'] } } })],
    ['an unknown reason', machineWith({ on: { CANCEL: { target: 'failed', actions: [reason('bored')] } } })],
    ['a reason set twice', machineWith({ on: { CANCEL: { target: 'failed', actions: [reason('cancelled'), reason(null)] } } })],
    ['a self-transition that sets a reason', machineWith({ on: { RUN_NOW: { actions: [reason(null), 'forceDue'] } } })],
    ['an unknown event', machineWith({ on: { PING: { target: 'running', actions: [reason(null)] } } })],
    ['an entry action', machineWith({ entry: ['forceDue'] })],
    ['an eventless transition', machineWith({ always: { target: 'running', actions: [reason(null)] } })],
    ['a nested state', machineWith({ initial: 'a', states: { a: {} } })],
    ['an unknown state', machineWith({}, { parked: {} })],
    ['a terminal state that is not final', machineWith({}, { finished: {} })],
    ['a final state that is not terminal', machineWith({ type: 'final' })],
    ['an ended state taking an event other than RETRY', machineWith({}, { failed: { on: { PLACE: { target: 'queued', actions: [reason(null)] } } } })],
    ['a terminal state that is not final and not reopenable', machineWith({}, { finished: { on: { RETRY: { target: 'queued', actions: [reason(null)] } } } })],
  ])('throws on %s', (_, machine) => {
    expect(() => deriveTransitionTable(machine)).toThrow(MachineDefinitionError);
  });

  it('throws on a machine missing a state', () => {
    const states = { none: {}, spooled: {}, queued: {}, running: {}, finished: { type: 'final' }, failed: { type: 'final' } } as const;
    expect(() => deriveTransitionTable(createMachine({ initial: 'none', states }))).toThrow(MachineDefinitionError);
  });

  it('throws on root-level transitions', () => {
    const states = { none: {}, spooled: {}, queued: {}, running: {}, finished: { type: 'final' }, failed: { type: 'final' }, terminated: { type: 'final' } } as const;
    const machine = createMachine({ initial: 'none', on: { CANCEL: { target: '.failed', actions: [reason('cancelled')] } }, states } as Parameters<typeof createMachine>[0]);
    expect(() => deriveTransitionTable(machine)).toThrow(MachineDefinitionError);
  });
});

