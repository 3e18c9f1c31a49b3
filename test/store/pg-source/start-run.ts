import type { Decide } from '../../../src/store/task-source.js';
import type { RunRecord } from '../../../src/task/record.js';
import { RECORD_VERSION } from '../../../src/task/record.js';

/** A claim's decision as the supervisor's in short: the task running, its next run started now. */
export const startRun: Decide<RunRecord> = (rec, w) => {
  rec.state = 'running';
  rec.tries++;
  rec.runCount++;
  rec.nextRunAt = null;
  rec.updatedAt = w.now;
  rec.lastRun = {
    v: RECORD_VERSION, taskId: rec.id, run: rec.runCount, attempt: rec.tries, state: 'running',
    startedAt: w.now, endedAt: null, durationMs: null, worker: null, output: null, error: null, progress: null,
  };
  return rec.lastRun;
};
