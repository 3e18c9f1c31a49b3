/**
 * The task lifecycle's names (SPEC §3), as every side sees them: the runtime records them, the
 * client waits for a terminal one, the CLI and the page show them. The legal moves live in
 * src/task/machine.ts alone.
 */

export const TASK_STATES = ['none', 'spooled', 'queued', 'running', 'finished', 'failed', 'terminated'] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set(['finished', 'failed', 'terminated']);

export const TASK_REASONS = ['invalid', 'error', 'lost', 'timeout', 'cancelled', 'exhausted', 'interrupted'] as const;
export type TaskReason = (typeof TASK_REASONS)[number];

/** A run's outcome. `interrupted`: a graceful stop aborted it and its handler settled on the signal; the try was given back. */
export type RunState = 'running' | 'finished' | 'failed' | 'timeout' | 'cancelled' | 'lost' | 'interrupted';
