import { setTimeout } from 'node:timers/promises';

// The capacity bench's task: it waits 50 ms and uses no CPU, so a runtime's throughput on it is
// its slots over 50 ms, and adding runtimes adds slots.
export default { name: 'sleep50', maxTries: 1, async run() { await setTimeout(50); } };
