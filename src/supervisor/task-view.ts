import type { HistoryView, RunView, SubmittedView, TaskView } from '../api/views.js';
import type { HistoryEntry, RunRecord, TaskRecord } from '../task/record.js';
import { formatInstant } from '../schedule/schedule-fields.js';
import { instantText as instant } from './instant-text.js';

/** Stored records into the API's views (SPEC §6): times as ISO-8601 UTC strings. */
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : instant(ms));

export function taskView(rec: TaskRecord): TaskView {
  // One literal, no spreads: a spread builds the view field by field, several objects per view,
  // and a submitMany answers a thousand of them. The rare optional fields are put in after.
  const view: TaskView = {
    id: rec.id,
    type: rec.type,
    params: rec.params,
    state: rec.state,
    reason: rec.reason,
    schedule: rec.schedule,
    recurring: rec.recurring,
    priority: rec.priority,
    maxTries: rec.maxTries,
    timeoutMs: rec.timeoutMs,
    misfire: rec.misfire,
    graceMs: rec.graceMs,
    tries: rec.tries,
    runCount: rec.runCount,
    occurrences: rec.occurrences,
    nextRunAt: isoOrNull(rec.nextRunAt),
    paused: rec.paused,
    key: rec.key,
    createdAt: instant(rec.createdAt),
    updatedAt: instant(rec.updatedAt),
    endedAt: isoOrNull(rec.endedAt),
    lastRun: rec.lastRun === null ? null : runView(rec.lastRun),
  };
  return rec.interval != null || rec.keyExpiresAt != null ? withOptionalFields(view, rec) : view;
}

/**
 * The view again with `interval` (before nextRunAt) and `keyExpiresAt` (before createdAt), in the
 * order SPEC §6 gives its fields.
 */
function withOptionalFields(view: TaskView, rec: TaskRecord): TaskView {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(view)) {
    if (field === 'nextRunAt' && rec.interval != null) out.interval = rec.interval;
    if (field === 'createdAt' && rec.keyExpiresAt != null) out.keyExpiresAt = formatInstant(rec.keyExpiresAt);
    out[field] = value;
  }
  return out as unknown as TaskView;
}

/**
 * A submit's answer for one task: its view with `existing` added last, on the view itself rather
 * than a spread copy (a submitMany answers a thousand of them).
 */
export function submittedView(rec: TaskRecord, existing: boolean): SubmittedView {
  const view: TaskView & { existing?: boolean } = taskView(rec);
  view.existing = existing;
  return view as SubmittedView;
}

export function runView(run: RunRecord): RunView {
  return {
    taskId: run.taskId,
    run: run.run,
    attempt: run.attempt,
    state: run.state,
    startedAt: instant(run.startedAt),
    endedAt: isoOrNull(run.endedAt),
    durationMs: run.durationMs,
    worker: run.worker,
    output: run.output === null ? null : (JSON.parse(run.output) as unknown),
    error: run.error,
    progress: run.progress,
  };
}

export function historyView(h: HistoryEntry): HistoryView {
  return { from: h.from, to: h.to, event: h.event, at: instant(h.at), reason: h.reason };
}
