/** A schedule's firing rule: the first fire time strictly after `after` (ms), or null when none. */
export interface Trigger {
  next(after: number): number | null;
}
