import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';
import type { GuardName } from './machine.js';
import { GUARDS, SET_REASON, taskMachine } from './machine.js';
import type { GuardInput, TaskEventType, TaskReason, TaskState, TransitionAction, TransitionResult } from './state.js';
import { REOPEN_EVENTS, REOPENABLE_STATES, TASK_EVENTS, TASK_REASONS, TASK_STATES, TERMINAL_STATES, TRANSITION_ACTIONS } from './state.js';

export interface TransitionTable {
  /**
   * The transition the machine takes for `event` in `state` given `input`, or null when the
   * machine refuses it. Results are shared and frozen: one object per row, never a fresh one.
   * `reason` is the reason to record when `to !== from`; a self-transition keeps the task's reason.
   */
  step(state: TaskState, event: TaskEventType, input: GuardInput): TransitionResult | null;
}

interface Row {
  readonly guard: ((g: GuardInput) => boolean) | null;
  /** Null for a forbidden transition (no target, no actions): XState blocks the event there. */
  readonly result: TransitionResult | null;
}

type EventRows = Readonly<Record<TaskEventType, readonly Row[] | undefined>>;

/**
 * Reads the machine's state nodes once and builds state × event → ordered rows of
 * (guard, result). A step is two property lookups and at most three guard calls; the property
 * test in test/task/machine.test.ts keeps it in agreement with XState's own `transition()`.
 *
 * Anything the derivation does not understand (an unknown guard, action, event or state, inline
 * functions, entry/exit/always/invoke, nested states, a move without a reason) throws, so the
 * machine stays the only source of truth and cannot grow behaviour the table would silently drop.
 */
export function deriveTransitionTable(machine: AnyStateMachine): TransitionTable {
  const root = machine.root;
  refuseHiddenBehaviour(root, 'the root');
  if (root.transitions.size > 0) throw derivationError(`root-level transitions (${[...root.transitions.keys()].join(', ')})`);
  for (const name of Object.keys(root.states)) asState(name);

  const table = {} as Record<TaskState, EventRows>;
  for (const from of TASK_STATES) {
    const node = root.states[from];
    if (node === undefined) throw derivationError(`no state node for ${from}`);
    table[from] = eventRows(root, from, node);
  }

  return {
    step(state, event, input) {
      const rows = table[state][event];
      if (rows === undefined) return null;
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        if (row.guard === null || row.guard(input)) return row.result;
      }
      return null;
    },
  };
}

let shared: TransitionTable | undefined;

/** The table of the task machine, derived on first use so importing this module costs nothing. */
export function transitionTable(): TransitionTable {
  shared ??= deriveTransitionTable(taskMachine);
  return shared;
}

/** Every event key is present (undefined when illegal) so all states share one object shape. */
function eventRows(root: AnyStateNode, from: TaskState, node: AnyStateNode): EventRows {
  refuseHiddenBehaviour(node, from);
  const isFinal = node.type === 'final';
  if (!isFinal && node.type !== 'atomic') throw derivationError(`${from} is a ${node.type} state; only flat states are supported`);
  // A terminal state is final, unless it is one an operator may reopen, which takes only the reopening events.
  const reopenable = REOPENABLE_STATES.has(from) && !isFinal;
  if (!reopenable && isFinal !== TERMINAL_STATES.has(from)) throw derivationError(`${from} is ${isFinal ? '' : 'not '}final, but state.ts says otherwise`);
  for (const eventType of node.transitions.keys()) {
    const event = asEvent(eventType);
    if (reopenable && !REOPEN_EVENTS.has(event)) throw derivationError(`${from} is ended and takes only ${[...REOPEN_EVENTS].join(', ')}, not ${event}`);
  }

  const rows = {} as Record<TaskEventType, readonly Row[] | undefined>;
  for (const event of TASK_EVENTS) {
    const defs = node.transitions.get(event);
    rows[event] = defs === undefined ? undefined : Object.freeze(defs.map((d) => toRow(root, from, event, d)));
  }
  return Object.freeze(rows);
}

function toRow(root: AnyStateNode, from: TaskState, event: TaskEventType, d: AnyTransitionDefinition): Row {
  const where = `${from} --${event}-->`;
  const guard = d.guard === undefined ? null : asGuard(d.guard, where);
  if (d.target === undefined && d.actions.length === 0) return Object.freeze({ guard, result: null });

  let to = from;
  if (d.target !== undefined) {
    const target = d.target.length === 1 ? d.target[0]! : undefined;
    if (target === undefined || target.parent !== root) throw derivationError(`${where} must target exactly one top-level state`);
    to = asState(target.key);
  }

  let reason: TaskReason | null | undefined;
  const actions: TransitionAction[] = [];
  for (const a of d.actions) {
    const { type, params } = actionRef(a, where);
    if (type === SET_REASON) {
      if (reason !== undefined) throw derivationError(`${where} sets its reason twice`);
      reason = asReason(params, where);
    } else {
      if (params !== undefined) throw derivationError(`${where} passes params to ${type}, which takes none`);
      actions.push(asAction(type, where));
    }
  }
  // The table cannot say "keep the reason" on a state change, nor "set it" on a self-transition.
  if (to !== from && reason === undefined) throw derivationError(`${where} ${to} changes state without ${SET_REASON}`);
  if (to === from && reason !== undefined) throw derivationError(`${where} ${to} is a self-transition with ${SET_REASON}`);

  return Object.freeze({ guard, result: Object.freeze({ from, to, reason: reason ?? null, actions: Object.freeze(actions) }) });
}

/** Behaviour that runs outside a transition's own actions would be invisible to the table. */
function refuseHiddenBehaviour(node: AnyStateNode, where: string): void {
  if (node.entry.length > 0 || node.exit.length > 0) throw derivationError(`${where} has entry or exit actions`);
  if (node.always !== undefined && node.always.length > 0) throw derivationError(`${where} has eventless (always) transitions`);
  if (node.invoke.length > 0) throw derivationError(`${where} invokes actors`);
}

function actionRef(a: unknown, where: string): { type: string; params: unknown } {
  if (typeof a === 'string') return { type: a, params: undefined };
  // Inline functions (assign(), raise(), arrow functions) carry no name the table could read.
  if (typeof a === 'object' && a !== null && typeof (a as { type?: unknown }).type === 'string') {
    const ref = a as { type: string; params?: unknown };
    return { type: ref.type, params: ref.params };
  }
  throw derivationError(`${where} has an inline action; name it in setup()`);
}

function asGuard(guard: unknown, where: string): (g: GuardInput) => boolean {
  // Inline and combined guards (not(), and()) are functions: their logic would be a second copy.
  if (typeof guard === 'function') throw derivationError(`${where} has an inline or combined guard; add it to GUARDS`);
  let name: unknown = guard;
  if (typeof guard === 'object' && guard !== null) {
    if ((guard as { params?: unknown }).params !== undefined) throw derivationError(`${where} passes params to a guard`);
    name = (guard as { type?: unknown }).type;
  }
  if (typeof name !== 'string' || !Object.hasOwn(GUARDS, name)) throw derivationError(`${where} has unknown guard ${String(name)}`);
  return GUARDS[name as GuardName];
}

function asReason(params: unknown, where: string): TaskReason | null {
  const reason = typeof params === 'object' && params !== null ? (params as { reason?: unknown }).reason : undefined;
  if (reason === null || (TASK_REASONS as readonly unknown[]).includes(reason)) return reason as TaskReason | null;
  throw derivationError(`${where} has unknown reason ${String(reason)}`);
}

function asState(name: string): TaskState {
  if (!(TASK_STATES as readonly string[]).includes(name)) throw derivationError(`unknown state ${name}`);
  return name as TaskState;
}

function asEvent(name: string): TaskEventType {
  if (!(TASK_EVENTS as readonly string[]).includes(name)) throw derivationError(`unknown event ${name}`);
  return name as TaskEventType;
}

function asAction(name: string, where: string): TransitionAction {
  if (!(TRANSITION_ACTIONS as readonly string[]).includes(name)) throw derivationError(`${where} has unknown action ${name}`);
  return name as TransitionAction;
}

/** A programming error in machine.ts, raised by the first test that builds the table. */
export class MachineDefinitionError extends Error {
  override readonly name = 'MachineDefinitionError';
}

function derivationError(what: string): MachineDefinitionError {
  return new MachineDefinitionError(`task machine: ${what}; the transition table cannot follow it`);
}
