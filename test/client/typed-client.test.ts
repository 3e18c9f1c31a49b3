import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, type TaskMap } from '../../src/client/index.js';
import type { Runtime } from '../../src/index.js';
import { removeTempDirs, startRuntime } from '../helpers/runtime.js';

const TYPED_TASKS = fileURLToPath(new URL('../fixtures/typed-tasks', import.meta.url));
type Tasks = TaskMap<typeof import('../fixtures/typed-tasks/greet.js') | typeof import('../fixtures/typed-tasks/tick.js')>;

let runtime: Runtime | undefined;
let client: Client<Tasks> | undefined;

afterEach(async () => {
  await client?.close();
  await runtime?.stop(1000);
  client = undefined;
  runtime = undefined;
  removeTempDirs();
});

describe('a typed Client', () => {
  it('submits to a real runtime loading the same .ts modules, and gets back the output run returned', async () => {
    runtime = await startRuntime({ tasks: TYPED_TASKS, socket: true });
    expect(runtime.registry.problems).toEqual([]);
    client = await Client.connect<Tasks>({ data: runtime.options.data });

    const greeted = await client.submit({ type: 'greet', params: { to: 'Ada', times: 2 } });
    expect(greeted).toMatchObject({ type: 'greet', params: { to: 'Ada', times: 2 } });
    const ticked = await client.submit({ type: 'tick' });
    const done = await Promise.all([client.wait(greeted.id), client.wait(ticked.id)]);
    const expected: [Tasks['greet']['output'], Tasks['tick']['output']] = [{ greeting: 'hello Adahello Ada' }, { label: 'tick', attempt: 1 }];
    expect(done.map((t) => [t.state, t.lastRun?.output])).toEqual([['finished', expected[0]], ['finished', expected[1]]]);
    expect((await client.list({ type: 'greet' })).tasks.map((t) => t.id)).toEqual([greeted.id]);
  });
});
