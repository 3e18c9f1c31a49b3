/** The processes-mode baseline: raw child_process IPC round trips, measured in the same run. */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WARM_UP, WORKERS } from './spindle-throughput.js';

/** N messages spread over WORKERS forked children, all in flight at once; round trips per second. */
export async function rawIpc(n: number): Promise<number> {
  const children = Array.from({ length: WORKERS }, () => fork(fileURLToPath(new URL('./ipc-echo-child.js', import.meta.url)), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] }));
  const roundTrips = async (count: number): Promise<void> => {
    let answered = 0;
    await new Promise<void>((resolve) => {
      const onMessage = (): void => {
        if (++answered === count) resolve();
      };
      for (const child of children) child.on('message', onMessage);
      for (let i = 0; i < count; i++) children[i % WORKERS]!.send({ type: 'run', runId: `r${i}` });
    });
    for (const child of children) child.removeAllListeners('message');
  };
  await roundTrips(WARM_UP);
  const t0 = performance.now();
  await roundTrips(n);
  const ms = performance.now() - t0;
  await Promise.all(children.map((child) => new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill();
  })));
  return n / (ms / 1000);
}
