import { SpindleError } from '../../errors.js';
import type { SubmitRequest } from '../task-source.js';
import type { LiveTask } from './live-task.js';
import type { StateCountTable } from './state-counts.js';

/**
 * Refuses a submit that would take a type past its maxQueued, counting the open tasks as held in
 * memory and the new tasks it adds (`existing`: the keys' holders, which add none).
 */
export function checkQueueLimits(request: SubmitRequest, existing: ReadonlyMap<string, LiveTask>, counts: Pick<StateCountTable, 'open'>): void {
  const adding = new Map<string, number>();
  for (const t of request.tasks) {
    if (t.key === null || !existing.has(t.key)) adding.set(t.type, (adding.get(t.type) ?? 0) + 1);
  }
  for (const [type, n] of adding) {
    const max = request.maxQueued.get(type);
    const open = counts.open(type);
    if (max !== undefined && open + n > max) {
      throw new SpindleError('QUEUE_FULL', `type ${type} already has ${open} open tasks (maxQueued ${max}); retry later`, { type });
    }
  }
}
