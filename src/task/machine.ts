import { assign, setup } from 'xstate';
import type { GuardInput, TaskEventType, TaskReason } from './state.js';

/**
 * The guards of the task machine as plain predicates. The machine's guard implementations call
 * these, and the derived transition table (transition-table.ts) calls the same functions, so the
 * logic exists once.
 */
export const GUARDS = {
  notPaused: (g: GuardInput): boolean => !g.paused,
  paused: (g: GuardInput): boolean => g.paused,
  triesLeft: (g: GuardInput): boolean => g.tries < g.maxTries,
  recurringWithNext: (g: GuardInput): boolean => g.recurring && g.hasNext,
  recurringExhausted: (g: GuardInput): boolean => g.recurring && !g.hasNext,
} as const;
export type GuardName = keyof typeof GUARDS;

export interface TaskMachineContext {
  paused: boolean;
  tries: number;
  maxTries: number;
  recurring: boolean;
  reason: TaskReason | null;
}

/** `hasNext` rides on run-ending events: whether the schedule has a further occurrence. */
export interface TaskMachineEvent {
  type: TaskEventType;
  hasNext?: boolean;
}

const guardInput = (context: TaskMachineContext, event: TaskMachineEvent): GuardInput => ({
  paused: context.paused, tries: context.tries, maxTries: context.maxTries, recurring: context.recurring, hasNext: event.hasNext === true,
});

/** Every state change names its reason (null for none); self-transitions keep the reason they had. */
const reason = (r: TaskReason | null) => ({ type: 'setReason', params: { reason: r } }) as const;

/**
 * A run ended without success: retry while tries remain, else go on to the next occurrence of a
 * recurring task, else end in `final` with `why`.
 */
const runEnded = (final: 'failed' | 'terminated', why: TaskReason) => [
  { guard: 'triesLeft', target: 'queued', actions: [reason(null), 'retry'] },
  { guard: 'recurringWithNext', target: 'queued', actions: [reason(null), 'resetTries', 'nextOccurrence'] },
  { target: final, actions: [reason(why)] },
] as const;

const control = {
  CANCEL: { target: 'failed', actions: [reason('cancelled')] },
  PAUSE: { guard: 'notPaused', actions: ['setPaused'] },
  RESUME: { guard: 'paused', actions: ['clearPaused'] },
} as const;

/** The one definition of the task lifecycle (SPEC §3). */
export const taskMachine = setup({
  types: {
    context: {} as TaskMachineContext,
    events: {} as TaskMachineEvent,
    input: {} as Partial<TaskMachineContext>,
  },
  guards: {
    notPaused: ({ context, event }) => GUARDS.notPaused(guardInput(context, event)),
    paused: ({ context, event }) => GUARDS.paused(guardInput(context, event)),
    triesLeft: ({ context, event }) => GUARDS.triesLeft(guardInput(context, event)),
    recurringWithNext: ({ context, event }) => GUARDS.recurringWithNext(guardInput(context, event)),
    recurringExhausted: ({ context, event }) => GUARDS.recurringExhausted(guardInput(context, event)),
  },
  actions: {
    incrementTries: assign({ tries: ({ context }) => context.tries + 1 }),
    resetTries: assign({ tries: 0 }),
    setPaused: assign({ paused: true }),
    clearPaused: assign({ paused: false }),
    setReason: assign((_, params: { reason: TaskReason | null }) => ({ reason: params.reason })),
    // Scheduling markers: the supervisor computes the due time; the machine only says which.
    retry: () => undefined,
    nextOccurrence: () => undefined,
    forceDue: () => undefined,
  },
}).createMachine({
  id: 'task',
  initial: 'none',
  context: ({ input }) => ({ paused: false, tries: 0, maxTries: 1, recurring: false, reason: null, ...input }),
  states: {
    none: { on: { SUBMIT: { target: 'spooled', actions: [reason(null)] } } },
    spooled: {
      on: {
        PLACE: { target: 'queued', actions: [reason(null)] },
        REJECT: { target: 'failed', actions: [reason('invalid')] },
        ...control,
      },
    },
    queued: {
      on: {
        START: { guard: 'notPaused', target: 'running', actions: [reason(null), 'incrementTries'] },
        REJECT: { target: 'failed', actions: [reason('invalid')] },
        RUN_NOW: { guard: 'notPaused', actions: ['forceDue'] },
        EXHAUST: { target: 'finished', actions: [reason('exhausted')] },
        ...control,
      },
    },
    running: {
      on: {
        SUCCEED: [
          { guard: 'recurringWithNext', target: 'queued', actions: [reason(null), 'resetTries', 'nextOccurrence'] },
          { guard: 'recurringExhausted', target: 'finished', actions: [reason('exhausted')] },
          { target: 'finished', actions: [reason(null)] },
        ],
        FAIL: runEnded('failed', 'error'),
        LOSE: runEnded('failed', 'lost'),
        TIME_OUT: runEnded('terminated', 'timeout'),
        ...control,
      },
    },
    finished: { type: 'final' },
    failed: { type: 'final' },
    terminated: { type: 'final' },
  },
});

export type TaskMachine = typeof taskMachine;
