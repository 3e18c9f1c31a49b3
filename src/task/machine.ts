import { assign, setup } from 'xstate';
import type { GuardInput, TaskEventType, TaskReason, TaskState, TransitionAction } from './state.js';

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

/**
 * GuardInput's task fields plus the recorded reason. `hasNext` is not here: it is a fact about the
 * schedule at the moment a run ends, so it rides on the event instead of going stale in context.
 */
export interface TaskMachineContext {
  paused: boolean;
  tries: number;
  maxTries: number;
  recurring: boolean;
  reason: TaskReason | null;
}

export interface TaskMachineEvent {
  type: TaskEventType;
  /** Run-ending events: whether the schedule has a further occurrence (absent: no). */
  hasNext?: boolean;
}

/** The one action that writes `reason`; the table reads its params back as the row's reason. */
export const SET_REASON = 'setReason';

const guardInput = (context: TaskMachineContext, event: TaskMachineEvent): GuardInput => ({
  paused: context.paused,
  tries: context.tries,
  maxTries: context.maxTries,
  recurring: context.recurring,
  hasNext: event.hasNext === true,
});

const guard = (name: GuardName) =>
  ({ context, event }: { context: TaskMachineContext; event: TaskMachineEvent }): boolean =>
    GUARDS[name](guardInput(context, event));

/**
 * A move to another state. Every move names its reason, null included, so a task never carries a
 * stale reason into a new state; the transition table refuses a move without one. Self-transitions
 * (PAUSE, RESUME, RUN_NOW) use no `moveTo` and keep the reason they had, which is always null
 * because they exist only in non-terminal states. The table reports null for them and its users
 * apply a reason only when the state changes, so both sides agree.
 */
const moveTo = <T extends TaskState, A extends readonly TransitionAction[]>(
  target: T,
  reason: TaskReason | null,
  ...actions: A
) => ({ target, actions: [{ type: SET_REASON, params: { reason } }, ...actions] as const });

/**
 * A run ended without success: retry while tries remain, else go on to the next occurrence of a
 * recurring task, else end in `final` with `reason`.
 */
const runEnded = (final: 'failed' | 'terminated', reason: TaskReason) => [
  { guard: 'triesLeft', ...moveTo('queued', null, 'retry') },
  { guard: 'recurringWithNext', ...moveTo('queued', null, 'resetTries', 'nextOccurrence') },
  moveTo(final, reason),
] as const;

/** Client control, legal in every non-terminal state but `none`. */
const control = {
  CANCEL: moveTo('failed', 'cancelled'),
  // A second PAUSE is refused rather than absorbed, so the client hears it changed nothing.
  PAUSE: { guard: 'notPaused', actions: ['setPaused'] },
  RESUME: { guard: 'paused', actions: ['clearPaused'] },
} as const;

/** An operator's retry of an ended task: queued again, due now, with fresh tries and no pause. */
const retry = moveTo('queued', null, 'resetTries', 'clearPaused', 'forceDue');

/** The one definition of the task lifecycle (SPEC §3). The first row whose guard passes wins. */
export const taskMachine = setup({
  types: {
    context: {} as TaskMachineContext,
    events: {} as TaskMachineEvent,
    input: {} as Partial<TaskMachineContext>,
  },
  guards: {
    notPaused: guard('notPaused'),
    paused: guard('paused'),
    triesLeft: guard('triesLeft'),
    recurringWithNext: guard('recurringWithNext'),
    recurringExhausted: guard('recurringExhausted'),
  },
  actions: {
    [SET_REASON]: assign((_, params: { reason: TaskReason | null }) => ({ reason: params.reason })),
    incrementTries: assign({ tries: ({ context }) => context.tries + 1 }),
    resetTries: assign({ tries: 0 }),
    refundTry: assign({ tries: ({ context }) => Math.max(0, context.tries - 1) }),
    setPaused: assign({ paused: true }),
    clearPaused: assign({ paused: false }),
    // Scheduling markers: the supervisor computes the due time, the machine only says which kind.
    retry: () => undefined,
    nextOccurrence: () => undefined,
    forceDue: () => undefined,
  },
}).createMachine({
  id: 'task',
  initial: 'none',
  context: ({ input }) => ({ paused: false, tries: 0, maxTries: 1, recurring: false, reason: null, ...input }),
  states: {
    none: { on: { SUBMIT: moveTo('spooled', null) } },
    spooled: {
      on: {
        PLACE: moveTo('queued', null),
        REJECT: moveTo('failed', 'invalid'),
        ...control,
      },
    },
    queued: {
      on: {
        START: { guard: 'notPaused', ...moveTo('running', null, 'incrementTries') },
        REJECT: moveTo('failed', 'invalid'),
        RUN_NOW: { guard: 'notPaused', actions: ['forceDue'] },
        ...control,
      },
    },
    running: {
      on: {
        SUCCEED: [
          { guard: 'recurringWithNext', ...moveTo('queued', null, 'resetTries', 'nextOccurrence') },
          { guard: 'recurringExhausted', ...moveTo('finished', 'exhausted') },
          moveTo('finished', null),
        ],
        FAIL: runEnded('failed', 'error'),
        LOSE: runEnded('failed', 'lost'),
        TIME_OUT: runEnded('terminated', 'timeout'),
        // A graceful stop, honoured by the handler: back to the queue, the try given back.
        INTERRUPT: moveTo('queued', 'interrupted', 'refundTry'),
        ...control,
      },
    },
    finished: { type: 'final' },
    // Ended, but an operator may queue it again (the task's history goes on); nothing else moves it.
    failed: { on: { RETRY: retry } },
    terminated: { on: { RETRY: retry } },
  },
});

export type TaskMachine = typeof taskMachine;
