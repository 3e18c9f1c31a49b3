import { Client } from '../../src/index.js';
import type { SubmitOptions } from '../../src/index.js';
import type { Checker } from './checker.js';
import { prng, type Prng } from './prng.js';

export interface SubmittersOptions {
  data: string;
  /** The execution log the handlers append to. */
  log: string;
  clients: number;
  seed: number;
  /** Tasks per submit, [lo, hi]; a submit of one is sent as `submit` half the time. */
  batch: [number, number];
  /** Pause after each answer, [lo, hi] ms: paces the load so a run is minutes, not hours. */
  pauseMs: [number, number];
  /** How long each handler awaits, [lo, hi] ms, so kills find runs in flight. */
  runMs: [number, number];
  /**
   * A share of runs that await longer, [lo, hi] ms: longer than a restart takes, so a worker
   * that outlived its killed runtime would still be running when the rerun starts.
   */
  longRuns: { share: number; ms: [number, number] };
}

/**
 * Clients that keep submitting `chaos-work` tasks, each with its own seeded stream of choices,
 * and tell the checker what every call was told. They ride over restarts: a Client reconnects,
 * and a call that lost its connection fails CONNECTION_LOST, which the checker counts in doubt.
 */
export class Submitters {
  readonly #o: SubmittersOptions;
  readonly #checker: Checker;
  readonly #clients: Client[];
  #stopping = false;
  #loops: Array<Promise<void>> = [];
  #inFlight = 0;

  private constructor(options: SubmittersOptions, checker: Checker, clients: Client[]) {
    this.#o = options;
    this.#checker = checker;
    this.#clients = clients;
  }

  static async start(options: SubmittersOptions, checker: Checker): Promise<Submitters> {
    const clients = await Promise.all(Array.from({ length: options.clients }, () => Client.connect({ data: options.data, reconnectWindowMs: 120_000 })));
    const s = new Submitters(options, checker, clients);
    s.#loops = clients.map((client, i) => s.#loop(client, i, prng((options.seed + i + 1) >>> 0)));
    return s;
  }

  /** Submits sent and not answered yet. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Lets every client finish its current call, then closes them. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#loops);
    await Promise.all(this.#clients.map((c) => c.close()));
  }

  async #loop(client: Client, index: number, rng: Prng): Promise<void> {
    const o = this.#o;
    for (let seq = 0; !this.#stopping; seq++) {
      const n = rng.int(...o.batch);
      const tasks: SubmitOptions[] = Array.from({ length: n }, (_, j) => ({
        type: 'chaos-work',
        params: { cid: `c${index}-${seq}-${j}`, log: o.log, ms: rng.next() < o.longRuns.share ? rng.int(...o.longRuns.ms) : rng.int(...o.runMs) },
      }));
      const batch = this.#checker.begin(tasks.map((t) => (t.params as { cid: string }).cid));
      this.#inFlight++;
      try {
        const views = n === 1 && rng.next() < 0.5 ? [await client.submit(tasks[0]!)] : await client.submitMany(tasks);
        this.#checker.ok(batch, views.map((v) => v.id));
      } catch (err) {
        this.#checker.failed(batch, err);
      } finally {
        this.#inFlight--;
      }
      await new Promise((r) => setTimeout(r, rng.int(...o.pauseMs)));
    }
  }
}
