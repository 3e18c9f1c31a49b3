/** The socket protocol's methods (SPEC §6): what a client may call and the IPC server answers. */
export const METHODS = [
  'task.submit',
  'task.submitMany',
  'task.get',
  'task.list',
  'task.pending',
  'task.cancel',
  'task.pause',
  'task.resume',
  'task.runNow',
  'task.retry',
  'task.delete',
  'task.purge',
  'task.reschedule',
  'task.runs',
  'task.history',
  'type.list',
  'type.pause',
  'type.resume',
  'schedule.preview',
  'runtime.stats',
  'runtime.stop',
  'events.subscribe',
  'events.unsubscribe',
] as const;

export type Method = (typeof METHODS)[number];
