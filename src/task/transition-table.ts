import type { GuardName, TaskMachine } from './machine.js';
import { GUARDS, taskMachine } from './machine.js';
import type { GuardInput, TaskEventType, TaskReason, TaskState, TransitionAction, TransitionResult } from './state.js';
import { TASK_EVENTS, TASK_STATES, TRANSITION_ACTIONS } from './state.js';

interface Row {
  guard: ((g: GuardInput) => boolean) | null;
  result: TransitionResult;
}

type Rows = Partial<Record<TaskEventType, readonly Row[]>>;

export interface TransitionTable {
  /** The transition the machine takes for `event` in `state`, or null when it is not legal. */
  step(state: TaskState, event: TaskEventType, input: GuardInput): TransitionResult | null;
}

/**
 * Reads the machine's state nodes once and builds state × event → ordered rows of
 * (guard, result). Applying a row costs a property lookup and a guard call, where XState's
 * `transition()` costs tens of microseconds; the property test in test/task keeps both in step.
 * Anything the derivation does not understand throws, so the machine stays the only source.
 */
export function deriveTransitionTable(machine: TaskMachine): TransitionTable {
  const table = {} as Record<TaskState, Rows>;
  for (const state of TASK_STATES) table[state] = {};
  for (const [name, node] of Object.entries(machine.root.states)) {
    const from = asState(name);
    for (const [eventType, defs] of node.transitions) {
      const event = asEvent(eventType);
      table[from][event] = defs.map((d): Row => {
        const to = d.target === undefined ? from : asState(d.target[0]!.key);
        let reason: TaskReason | null = null;
        const actions: TransitionAction[] = [];
        for (const a of d.actions) {
          const { type, params } = typeof a === 'string' ? { type: a, params: undefined } : (a as { type: string; params?: { reason?: TaskReason | null } });
          if (type === 'setReason') reason = params?.reason ?? null;
          else actions.push(asAction(type));
        }
        return {
          guard: d.guard === undefined ? null : asGuard(d.guard),
          result: Object.freeze({ from, to, reason, actions: Object.freeze(actions) }),
        };
      });
    }
  }
  return {
    step(state, event, input) {
      const rows = table[state][event];
      if (rows === undefined) return null;
      for (const row of rows) if (row.guard === null || row.guard(input)) return row.result;
      return null;
    },
  };
}

let shared: TransitionTable | undefined;

/** The table of the task machine, derived on first use. */
export function transitionTable(): TransitionTable {
  shared ??= deriveTransitionTable(taskMachine);
  return shared;
}

function asState(name: string): TaskState {
  if (!(TASK_STATES as readonly string[]).includes(name)) throw new Error(`task machine: unknown state ${name}`);
  return name as TaskState;
}

function asEvent(name: string): TaskEventType {
  if (!(TASK_EVENTS as readonly string[]).includes(name)) throw new Error(`task machine: unknown event ${name}`);
  return name as TaskEventType;
}

function asAction(name: string): TransitionAction {
  if (!(TRANSITION_ACTIONS as readonly string[]).includes(name)) throw new Error(`task machine: unknown action ${name}`);
  return name as TransitionAction;
}

function asGuard(guard: unknown): (g: GuardInput) => boolean {
  const name = typeof guard === 'string' ? guard : (guard as { type?: unknown }).type;
  if (typeof name !== 'string' || !Object.hasOwn(GUARDS, name)) throw new Error(`task machine: unknown guard ${String(name)}`);
  return GUARDS[name as GuardName];
}
