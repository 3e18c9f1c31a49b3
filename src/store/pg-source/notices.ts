/** The channel every runtime on the database LISTENs on. */
export const CHANNEL = 'spindle';

/**
 * What a transaction tells the other runtimes: a task became due at `due` (database ms: claim at
 * or after it), a run of `owner` must stop (cancelled by another runtime), or an operator paused
 * or resumed a type (read the paused types again).
 */
export type Notice = { due: number } | { abort: { owner: string; taskId: string; run: number } } | { typePauses: true };

/** The pg_notify parameters: the channel, and the notices with the sender (so it can skip its own). */
export function notifyText(from: string, notices: readonly Notice[]): [string, string] {
  return [CHANNEL, JSON.stringify({ from, notices })];
}

export function parseNotices(payload: string | undefined): { from: string; notices: Notice[] } | null {
  if (payload === undefined) return null;
  try {
    const parsed = JSON.parse(payload) as { from?: unknown; notices?: unknown };
    if (typeof parsed.from !== 'string' || !Array.isArray(parsed.notices)) return null;
    return { from: parsed.from, notices: parsed.notices as Notice[] };
  } catch {
    return null;
  }
}
