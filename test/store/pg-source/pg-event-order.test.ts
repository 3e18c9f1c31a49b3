import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../helpers/pg.js';
import { eventLine, startPgRuntime, type PgRuntime } from '../../helpers/pg-supervisor.js';
import { until, waitForState } from '../../helpers/runtime.js';

/**
 * A TCP proxy in front of the server whose replies to the connection that LISTENs (a runtime's
 * listener) can be held back: notifications reach that runtime late, as they do when its listener
 * connection is slower to read than its other connections.
 */
class ListenerGate {
  readonly #server: Server;
  readonly #listeners: Array<{ down: Socket; held: Buffer[] }> = [];
  readonly #sockets = new Set<Socket>();
  #holding = false;

  constructor(upstreamPort: number) {
    this.#server = createServer((down) => {
      const up = connect(upstreamPort, '127.0.0.1');
      const pair = { down, held: [] as Buffer[] };
      let listener = false;
      for (const s of [down, up]) {
        this.#sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => { down.destroy(); up.destroy(); });
      }
      down.on('data', (chunk: Buffer) => {
        if (!listener && chunk.includes('LISTEN spindle')) {
          listener = true;
          this.#listeners.push(pair);
        }
        up.write(chunk);
      });
      up.on('data', (chunk: Buffer) => {
        if (listener && this.#holding) pair.held.push(chunk);
        else down.write(chunk);
      });
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.#server.listen(0, '127.0.0.1', () => resolve((this.#server.address() as { port: number }).port)));
  }

  hold(): void {
    this.#holding = true;
  }

  release(): void {
    this.#holding = false;
    for (const l of this.#listeners) for (const chunk of l.held.splice(0)) l.down.write(chunk);
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

let db: TestDatabase | undefined;
let gate: ListenerGate | undefined;
const runtimes: PgRuntime[] = [];

afterEach(async () => {
  gate?.release();
  await Promise.all(runtimes.splice(0).map((r) => r.stop(0)));
  await gate?.close();
  gate = undefined;
  await db?.drop();
  db = undefined;
});

describe('a runtime\'s own events among the others\' (PostgreSQL)', () => {
  it('a claim of a task another runtime submitted shows after the submit, however late the submit\'s notification is read', async () => {
    db = await createTestDatabase();
    const url = new URL(db.url);
    gate = new ListenerGate(Number(url.port || 5432));
    const proxied = new URL(db.url);
    proxied.host = `127.0.0.1:${await gate.listen()}`;
    // A: one worker, kept busy, so the task submitted next runs on B.
    const a = await startPgRuntime(db.url, { workers: 1 });
    runtimes.push(a);
    const hog = await a.supervisor.submit({ type: 'sleep', params: { ms: 600_000 } });
    await waitForState(a.supervisor, hog.id, ['running']);
    const b = await startPgRuntime(proxied.toString(), { workers: 1 });
    runtimes.push(b);
    const seen = new Map<string, string[]>();
    b.supervisor.subscribe({}, (ev) => {
      const id = (ev.data as { id: string }).id;
      seen.set(id, [...(seen.get(id) ?? []), eventLine(ev)]);
    });
    // A sends its events once it knows B listens.
    await until(() => a.source.announcing, { ms: 30_000, what: 'A to learn that B listens' });
    let claimed: (() => void) | null = null;
    const run = b.executor.run.bind(b.executor);
    b.executor.run = (job, handlers) => {
      claimed?.();
      run(job, handlers);
    };
    const onB = new Promise<void>((resolve) => { claimed = resolve; });
    gate.hold();
    // B hears nothing of it (neither the due notice nor its events): it claims it at its next poll.
    const task = await a.supervisor.submit({ type: 'echo', params: { n: 1 } });
    await onB;
    // B's claim is committed; the submit's notification still waits in the gate.
    gate.release();
    await until(() => seen.get(task.id)?.length === 6, { ms: 30_000, what: 'B\'s listener to see the task\'s whole life' });
    expect(seen.get(task.id)).toEqual(['state none>spooled', 'state spooled>queued', 'state queued>running', 'started 1', 'state running>finished', 'ended 1 finished']);
  });
});
