import type { TypeInfo } from '../api/runtime-api.js';
import type { TaskType } from '../task/registry.js';

/** A task type as `type.list` shows it: its name and resolved defaults. */
export function typeInfo(t: TaskType, { paused }: { paused: boolean }): TypeInfo {
  return {
    name: t.name,
    description: t.description ?? null,
    file: t.file,
    params: t.paramsSchema ?? null,
    timeoutMs: t.timeoutMs,
    maxTries: t.maxTries,
    retry: t.retry,
    concurrency: t.concurrency,
    priority: t.priority,
    maxQueued: t.maxQueued,
    isolation: t.isolation ?? null,
    retentionMs: t.retentionMs,
    paused,
  };
}
