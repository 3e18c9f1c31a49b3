/**
 * Entry point of a child in the ProcessExecutor's pool, forked with an IPC channel and started in
 * its own process group. Runs arrive on the channel and results, progress and aborts share it, so
 * they keep their order. Arguments: the pino level for handler logs, the runtime's pid, the cap on
 * the child's resident memory in MB, and on a store with leases the runtime's heartbeat file and
 * how old its beat may be in ms.
 */
import pino from 'pino';
import { boundFields } from '../src/log-fields.js';
import { isProcessRequest, processWorkerName } from '../src/executor/wire.js';
import type { ProcessReply, ResultMessage, TaskMessage } from '../src/executor/wire.js';
import { captureOutput } from './handler-output.js';
import { RunAbort } from './run-abort.js';
import { abortReason, runTask } from './run-task.js';
import { startWatchdog } from './watchdog.js';

const send = process.send?.bind(process) ?? notForked();

const self = processWorkerName(process.pid);
// Synchronous writes to the stdout pipe: a handler's last lines survive the process being killed.
// The executor reads them and writes them through the runtime's logger, in its format.
const logger = pino({ level: process.argv[2] ?? 'info', mixin: boundFields }, pino.destination({ fd: 1, sync: true }));
captureOutput(logger, { worker: self });
const running = new Map<string, RunAbort>();
let crashing = false;

function reply(message: ProcessReply): void {
  // A closed channel means the parent is gone; the 'disconnect' handler is already ending us.
  if (process.connected) send(message);
}

/** Results of runs that ended in this turn; sent together at its end (one message, not one each). */
let ended: ResultMessage[] = [];
let flushing: NodeJS.Immediate | null = null;

function flushResults(): void {
  if (flushing !== null) clearImmediate(flushing);
  flushing = null;
  if (ended.length === 0) return;
  reply({ type: 'results', results: ended });
  ended = [];
}

async function run(task: TaskMessage): Promise<void> {
  const abort = new RunAbort();
  running.set(task.runId, abort);
  try {
    const result = await runTask(task, {
      abort,
      logger,
      worker: self,
      reportProgress: (progress) => reply({ type: 'progress', runId: task.runId, progress }),
    });
    ended.push(result);
    flushing ??= setImmediate(flushResults);
  } finally {
    running.delete(task.runId);
  }
}

process.on('message', (message: unknown) => {
  if (!isProcessRequest(message)) return;
  if (message.type === 'runs') for (const task of message.runs) void run(task);
  else running.get(message.runId)?.abort(abortReason(message.cause));
});

// The parent died without stopping us (a SIGKILL, a crash): take down this process group, what
// handlers spawned included, rather than leave orphans behind. This process leads the group.
// 'disconnect' is the quick path while the event loop turns; the watchdog thread covers a handler
// that holds the loop, and caps the memory a heap limit does not (Buffers, native allocations).
const parentPid = Number(process.argv[3]);
const residentLimitMb = Number(process.argv[4]);
const [heartbeatPath, heartbeatStaleMs] = [process.argv[5], Number(process.argv[6])];
const heartbeat = heartbeatPath !== undefined && Number.isSafeInteger(heartbeatStaleMs) && heartbeatStaleMs > 0 ? { path: heartbeatPath, staleMs: heartbeatStaleMs } : undefined;
if (Number.isSafeInteger(parentPid) && parentPid > 1 && Number.isSafeInteger(residentLimitMb) && residentLimitMb > 0) {
  startWatchdog({ parentPid, residentLimitMb, ...(heartbeat === undefined ? {} : { heartbeat }) }, (err) => logger.error({ err, worker: self }, `the watchdog of ${self} failed: ${err.message}; a busy orphan may outlive the runtime`));
}
process.on('disconnect', () => {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } finally {
    process.exit(1);
  }
});

// Like a thread's uncaught error, it ends the worker; the parent records the error on its runs.
process.on('uncaughtException', (err: unknown) => {
  if (crashing) return;
  crashing = true;
  const fields = typeof err === 'object' && err !== null ? (err as { name?: unknown; message?: unknown; stack?: unknown }) : {};
  const error = {
    name: typeof fields.name === 'string' ? fields.name : 'Error',
    message: typeof fields.message === 'string' ? fields.message : String(err),
    ...(typeof fields.stack === 'string' ? { stack: fields.stack } : {}),
  };
  if (!process.connected) process.exit(1);
  // Runs that ended before the crash keep their results.
  flushResults();
  send({ type: 'crash', error } satisfies ProcessReply, undefined, undefined, () => process.exit(1));
});

function notForked(): never {
  process.stderr.write('workers/process-worker is started by the ProcessExecutor, with an IPC channel\n');
  process.exit(2);
}

reply({ type: 'ready' });
