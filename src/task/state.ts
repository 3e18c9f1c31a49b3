/**
 * The task lifecycle's vocabulary (SPEC §3). The legal moves live in machine.ts alone. The state
 * and reason names every side shares are src/api's; the machine's events and actions are here.
 */
import type { TaskReason, TaskState } from '../api/states.js';

export { TASK_REASONS, TASK_STATES, TERMINAL_STATES } from '../api/states.js';
export type { TaskReason, TaskState } from '../api/states.js';

/**
 * Events of the task state machine.
 * - SUBMIT: a submit was accepted (none → spooled).
 * - PLACE: the supervisor validated and scheduled it (spooled → queued).
 * - REJECT: its params are invalid or its type is gone (spooled/queued → failed, `invalid`).
 * - START: a run starts (queued → running; tries + 1). Refused while paused.
 * - SUCCEED / FAIL / LOSE / TIME_OUT: the run returned / threw / lost its worker / overran.
 * - CANCEL, PAUSE, RESUME, RUN_NOW: client control.
 * - RETRY: an operator queues a failed or terminated task again (→ queued, tries 0, due now,
 *   unpaused); its runs and history stay. The one way out of an ended state, and not out of
 *   `finished`: a task that succeeded is submitted anew instead.
 * - INTERRUPT: a graceful stop aborted the run and its handler settled on the signal in time
 *   (running → queued, `interrupted`; the try is given back). A run killed at the end of the grace
 *   period gets no INTERRUPT: it stays `running` and is a lost try at the next start.
 */
export const TASK_EVENTS = [
  'SUBMIT', 'PLACE', 'REJECT', 'START', 'SUCCEED', 'FAIL', 'LOSE', 'TIME_OUT',
  'CANCEL', 'PAUSE', 'RESUME', 'RUN_NOW', 'INTERRUPT', 'RETRY',
] as const;
export type TaskEventType = (typeof TASK_EVENTS)[number];

/** The task fields the guards read, persisted in the task record. */
/**
 * Ended states an event may leave (RETRY): in the machine they are not `final`, since XState
 * takes no event in a final state, but to the rest of Spindle they are as terminal as `finished`.
 */
export const REOPENABLE_STATES: ReadonlySet<TaskState> = new Set(['failed', 'terminated']);
/** The events that may leave a REOPENABLE state, and the only ones it takes. */
export const REOPEN_EVENTS: ReadonlySet<TaskEventType> = new Set(['RETRY']);

export interface GuardInput {
  paused: boolean;
  /** Runs started in the current occurrence. */
  tries: number;
  maxTries: number;
  recurring: boolean;
  /** For run-ending events: whether the schedule has a further occurrence. */
  hasNext: boolean;
}

/**
 * What the supervisor must do besides moving the state:
 * - incrementTries / resetTries: `tries` + 1 / back to 0 (a new occurrence).
 * - setPaused / clearPaused: the pause flag.
 * - retry: due again after the retry delay (same occurrence).
 * - nextOccurrence: due at the schedule's next fire time.
 * - forceDue: due now, once, schedule unchanged.
 * - refundTry: `tries` − 1, the run did not count; due again at once (at the occurrence's fire
 *   time when it was the occurrence's first try, so the occurrence is not consumed twice).
 */
export const TRANSITION_ACTIONS = [
  'incrementTries', 'resetTries', 'setPaused', 'clearPaused', 'retry', 'nextOccurrence', 'forceDue', 'refundTry',
] as const;
export type TransitionAction = (typeof TRANSITION_ACTIONS)[number];

export interface TransitionResult {
  from: TaskState;
  to: TaskState;
  /** The reason recorded with the new state (terminal states, mostly); null when none. */
  reason: TaskReason | null;
  actions: readonly TransitionAction[];
}
