import type { RunError, RunOutcome } from '../executor/executor.js';

/** Longest error message and stack kept in a run record, in characters. */
export const MAX_ERROR_MESSAGE_CHARS = 4 * 1024;
export const MAX_ERROR_STACK_CHARS = 16 * 1024;

/**
 * Bounds what a run adds to its task record, where every read of the task (get, list, events,
 * the CLI) carries it: an output over `maxOutputBytes` of JSON fails the run with
 * OUTPUT_TOO_LARGE rather than being stored, and a handler's error message and stack are cut to
 * a few KiB. Without this one handler returning 10 MB made every reply of its task that large.
 */
export function capOutcome(outcome: RunOutcome, maxOutputBytes: number): RunOutcome {
  if (outcome.ok) {
    const output = outcome.output;
    if (output === undefined || output.length <= maxOutputBytes / 3) return outcome;
    const bytes = Buffer.byteLength(output);
    if (bytes <= maxOutputBytes) return outcome;
    const error: RunError = {
      code: 'OUTPUT_TOO_LARGE',
      message: `the handler's output is ${bytes} bytes of JSON, over the ${maxOutputBytes}-byte limit (maxOutputBytes); store large results elsewhere and return a reference`,
    };
    return { ok: false, error, durationMs: outcome.durationMs, worker: outcome.worker };
  }
  const { message, stack } = outcome.error;
  if (message.length <= MAX_ERROR_MESSAGE_CHARS && (stack === undefined || stack.length <= MAX_ERROR_STACK_CHARS)) return outcome;
  const error: RunError = { ...outcome.error, message: cut(message, MAX_ERROR_MESSAGE_CHARS) };
  if (stack !== undefined) error.stack = cut(stack, MAX_ERROR_STACK_CHARS);
  return { ...outcome, error };
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}
