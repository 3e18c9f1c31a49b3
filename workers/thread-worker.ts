/**
 * Entry point of a thread in the ThreadExecutor's piscina pool. Piscina owns this thread's
 * parentPort, so aborts (in) and progress (out) travel on a BroadcastChannel named in workerData.
 * Log lines (a handler's ctx.log and what it prints) go on parentPort too, as LogMessages.
 * The channel is opened when piscina loads this module, which it does before it reports the thread
 * ready, so an abort for one of this thread's runs finds a listener.
 */
import { BroadcastChannel, parentPort, threadId, workerData } from 'node:worker_threads';
import pino from 'pino';
import { boundFields } from '../src/log-fields.js';
import { isChannelMessage, taskAt, threadWorkerName } from '../src/executor/wire.js';
import type { AbortCause, BatchMessage, BatchReply, LogMessage, ProgressMessage, ResultMessage, ResultsMessage, TaskMessage, ThreadWorkerData, WorkerReply, WorkerRequest } from '../src/executor/wire.js';
import { captureOutput } from './handler-output.js';
import { RunAbort } from './run-abort.js';
import { abortReason, runTask } from './run-task.js';

/**
 * An abort and its run travel on different ports, so with several runs per thread the abort can
 * arrive first; it waits here for its run. An abort that lost the race the other way (its run had
 * just finished) would wait forever, so only the newest few are kept: a thread never holds more
 * runs than its concurrency, far fewer than this.
 */
const EARLY_ABORTS_KEPT = 1024;

const { channel: channelName, logLevel } = workerData as ThreadWorkerData;
const self = threadWorkerName(threadId);
/**
 * Lines go to the executor, which writes them through the runtime's logger, in its format. On
 * parentPort: a thread's port is drained when it exits, so a handler's last lines survive the
 * thread being terminated right after them.
 */
const toExecutor = { write: (line: string) => parentPort!.postMessage({ type: 'spindle-log', line } satisfies LogMessage) };
const logger = pino({ level: logLevel, mixin: boundFields }, toExecutor);
captureOutput(logger, { worker: self });
const running = new Map<string, RunAbort>();

/** A batch's runs, and the index of the next one to start: those from it on are queued. */
interface Queue {
  readonly runIds: string[];
  next: number;
}

/** The batch of each run queued on this thread, not started yet. */
const queuedIn = new Map<string, Queue>();

/** Gives back, unstarted, the runs still queued in `runId`'s batch (none if it has started). */
function recall(runId: string): void {
  const queue = queuedIn.get(runId);
  if (queue === undefined) return;
  const returned = queue.runIds.slice(queue.next);
  queue.next = queue.runIds.length;
  for (const id of returned) queuedIn.delete(id);
  parentPort!.postMessage({ type: 'spindle-results', results: [], done: [], returned } satisfies ResultsMessage);
}
const earlyAborts = new Map<string, AbortCause>();

const channel = new BroadcastChannel(channelName);
channel.unref();
channel.onmessage = (event) => {
  const message = (event as MessageEvent).data as unknown;
  if (!isChannelMessage(message) || message.type === 'progress' || message.worker !== self) return;
  if (message.type === 'recall') {
    recall(message.runId);
    return;
  }
  const abort = running.get(message.runId);
  if (abort !== undefined) {
    abort.abort(abortReason(message.cause));
    return;
  }
  earlyAborts.set(message.runId, message.cause);
  if (earlyAborts.size > EARLY_ABORTS_KEPT) earlyAborts.delete(earlyAborts.keys().next().value as string);
};

export default async function threadWorker(request: WorkerRequest): Promise<WorkerReply> {
  if (request.type === 'ping') return { type: 'pong', worker: self };
  if (request.type === 'batch') return runBatch(request);
  return runOne(request);
}

async function runOne(request: TaskMessage, queued = false): Promise<ResultMessage> {
  const { runId } = request;
  // Aborted while it waited in the pool's queue for a thread, or on this thread behind other runs:
  // it never started, so its handler does not start either (as for a run aborted while it waits
  // for a slot in the executor).
  const early = earlyAborts.get(runId);
  if (request.abortedBy !== undefined || (queued && early !== undefined)) {
    earlyAborts.delete(runId);
    return { type: 'result', runId, ok: false, error: { code: 'CANCELLED', name: 'AbortError', message: 'the run was aborted before it started' } };
  }
  const abort = new RunAbort();
  if (early !== undefined) {
    earlyAborts.delete(runId);
    abort.abort(abortReason(early));
  }
  running.set(runId, abort);
  try {
    return await runTask(request, {
      abort,
      logger,
      worker: self,
      reportProgress: (progress) => channel.postMessage({ type: 'progress', runId, progress } satisfies ProgressMessage),
    });
  } finally {
    running.delete(runId);
  }
}

/**
 * Runs a batch, `lanes` runs at a time, the rest in order as lanes free. Results that end in the
 * same turn go back in one message; those ending before the last one are sent ahead on
 * parentPort, so a slow run never holds a fast run's result. A queued run starts only once what
 * ended before it is posted, with its id: a handler that keeps the thread busy, or kills it, cannot
 * hold back an earlier run's result, and the executor learns when the run started.
 */
async function runBatch(batch: BatchMessage): Promise<BatchReply> {
  const { runIds } = batch;
  const size = runIds.length;
  const queue: Queue = { runIds, next: Math.min(batch.lanes ?? size, size) };
  for (let i = queue.next; i < size; i++) queuedIn.set(runIds[i]!, queue);
  let pending: ResultMessage[] = [];
  let done: string[] = [];
  let sendAhead: NodeJS.Immediate | null = null;
  const flush = (started?: string): void => {
    if (sendAhead !== null) clearImmediate(sendAhead);
    sendAhead = null;
    parentPort!.postMessage({ type: 'spindle-results', results: pending, done, ...(started !== undefined ? { started } : {}) } satisfies ResultsMessage);
    pending = [];
    done = [];
  };
  const lane = async (first: TaskMessage): Promise<void> => {
    let run = first;
    let queued = false;
    for (;;) {
      // Not `pending.push(await …)`: that would read `pending` before the await, and a flush in
      // between would leave this result in an array already sent.
      const result = await runOne(run, queued);
      if (result.ok && result.output === undefined && result.progress === undefined) done.push(result.runId);
      else pending.push(result);
      // A run that ended on its signal was likely stopped with others (a shutdown aborts every
      // run at once): their aborts, still in this thread's port, land before the next one starts.
      if (!result.ok && result.error.code === 'CANCELLED' && queue.next < size) await new Promise((resolve) => setImmediate(resolve));
      if (queue.next >= size) {
        sendAhead ??= setImmediate(flush);
        return;
      }
      run = taskAt(batch, queue.next++);
      queuedIn.delete(run.runId);
      flush(run.runId);
      queued = true;
    }
  };
  const lanes: Array<Promise<void>> = [];
  const atOnce = queue.next;
  for (let i = 0; i < atOnce; i++) lanes.push(lane(taskAt(batch, i)));
  await Promise.all(lanes);
  // Piscina's reply travels on another port than parentPort: a queued run's result there could
  // overtake the word that it started. Results of a batch that queued runs all go on parentPort.
  if (lanes.length < size && pending.length + done.length > 0) flush();
  if (sendAhead !== null) clearImmediate(sendAhead);
  return { type: 'batch', results: pending, done };
}
