/**
 * A typed client: the task map is read from the task modules' types (nothing of them is loaded),
 * so a wrong type name, params or schedule key does not compile. Start a runtime with
 * `npm start`, then: `npx tsx examples/typed-client.ts`.
 */
import { Client, type TaskMap } from 'spindle/client';

type Tasks = TaskMap<typeof import('./tasks/hello.js') | typeof import('./tasks/cpu-heavy.js')>;

const client = await Client.connect<Tasks>({ data: '.spindle' });
try {
  const hello = await client.submit({ type: 'hello', params: { name: 'Ada' } });
  await client.submit({ type: 'cpu-heavy', params: { n: 1_000_000 }, schedule: { every: '1h', count: 3 } });
  // client.submit({ type: 'hello', params: { name: 1 } });    → error: name is a string
  // client.submit({ type: 'helo', params: { name: 'Ada' } }); → error: no task type 'helo'
  const done = await client.wait(hello.id);
  // TaskView's output is unknown on the wire; the map says what run returned.
  const output = done.lastRun?.output as Tasks['hello']['output'] | undefined;
  console.log(done.state, output?.greeting);
} finally {
  await client.close();
}
