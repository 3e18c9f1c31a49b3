import { afterEach, describe } from 'vitest';
import type { HarnessOptions, SourceFactory, SourcePlace } from './harness.js';
import { Harness, removeMarkerDirs } from './harness.js';
import { controlContract } from './control.js';
import { dispatchContract } from './dispatch.js';
import { lifecycleContract } from './lifecycle.js';
import { recoveryContract } from './recovery.js';
import { retentionContract } from './retention.js';
import { schedulesContract } from './schedules.js';
import { submitsContract } from './submits.js';

export type { OpenedSource, SourceFactory, SourceOpenOptions, SourcePlace } from './harness.js';

/** What each part of the contract gets: a supervisor over a fresh place, and a restart over the same one. */
export interface ContractEnv {
  /** A real supervisor over a source on this test's place (a fresh, empty one the first time). */
  start(options?: HarnessOptions): Promise<Harness>;
  /** Stops `h` (waiting `graceMs`, default 5 s, for runs to settle) and starts a new supervisor over the same place. */
  restart(h: Harness, options?: HarnessOptions & { graceMs?: number }): Promise<Harness>;
}

/**
 * The store-independent behaviour every task source must give the supervisor (SPEC §3–§4):
 * lifecycle, retries, keys, maxQueued, control, claims within limits and by priority, recovery of
 * abandoned runs, retention, schedules' next occurrence, counts. Each test gets a fresh place from `factory`; a restart opens a new
 * source on the same place. A source passes when every test passes, unchanged.
 */
export function describeSourceContract(name: string, factory: SourceFactory): void {
  describe(`task source contract: ${name}`, () => {
    let place: SourcePlace | null = null;
    const open: Harness[] = [];

    const env: ContractEnv = {
      async start(options) {
        place ??= await factory.place();
        const h = await Harness.open(place, options);
        open.push(h);
        return h;
      },
      async restart(h, options = {}) {
        const { graceMs = 5000, ...rest } = options;
        await h.stop(graceMs);
        return env.start(rest);
      },
    };

    afterEach(async () => {
      for (const h of open.splice(0)) await h.stop(1000);
      await place?.drop();
      place = null;
      removeMarkerDirs();
    });

    lifecycleContract(env);
    submitsContract(env);
    controlContract(env);
    dispatchContract(env);
    recoveryContract(env);
    retentionContract(env);
    schedulesContract(env);
  });
}
