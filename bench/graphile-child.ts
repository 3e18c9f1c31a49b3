/**
 * graphile-worker as its own process, as `spindle start` is: argv[2] the database URL, argv[3]
 * the concurrency. Tuned as graphile-worker's own performance page runs it (batched job fetches
 * through the local queue, batched completions and failures); tells the parent `ready` over IPC
 * and stops on `stop`.
 */
import { Logger, run } from 'graphile-worker';

const [url, concurrency] = [process.argv[2]!, Number(process.argv[3])];
const silent = new Logger(() => () => undefined);
const runner = await run({
  connectionString: url,
  concurrency,
  maxPoolSize: concurrency + 2 > 10 ? Math.min(concurrency + 2, 25) : 10,
  noHandleSignals: true,
  logger: silent,
  taskList: { noop: async () => undefined },
  preset: { worker: { localQueue: { size: Math.max(500, concurrency + 1) }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
});
process.on('message', (m) => {
  if (m === 'stop') void runner.stop().then(() => process.exit(0));
});
process.send!('ready');
