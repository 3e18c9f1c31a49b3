import { join } from 'node:path';

/**
 * The runtime's heartbeat, as the stall fence and the process workers' watchdogs read it: a
 * CLOCK_MONOTONIC time in ms. `process.hrtime.bigint()` reads that clock, which on Linux is one
 * clock for the whole machine, so a child compares it with its own reading; `performance.now()`
 * counts from each process's own origin and could not be compared.
 */

/** The file in the data directory the main thread writes each beat to, for the runtime's children. */
export const HEARTBEAT_FILE = 'heartbeat';
/** Beats per lease. */
const BEATS_PER_LEASE = 8;
/**
 * A fence thread or watchdog that itself did not run for this long (its timer fired this late)
 * was stopped with everything else (SIGSTOP of the runtime, a frozen cgroup, a paused VM): the
 * main thread's silence over that gap says nothing about the main thread, so it gets a fresh
 * stale bound from there. Never under a second, so an ordinary late timer on a loaded machine
 * is not taken for a stop.
 */
const MIN_PAUSE_MS = 1000;

export function heartbeatPath(data: string): string {
  return join(data, HEARTBEAT_FILE);
}

export function beatIntervalMs(leaseMs: number): number {
  return Math.max(10, Math.floor(leaseMs / BEATS_PER_LEASE));
}

/**
 * How long the main thread may go without a beat: half the lease. The leases are renewed every
 * quarter lease, so the last renewal is at most that long before the last beat, and a stall
 * noticed half a lease after the last beat still ends the runs a quarter lease before the lease.
 */
export function staleMs(leaseMs: number): number {
  return Math.floor(leaseMs / 2);
}

export function pauseGapMs(stale: number): number {
  return Math.max(MIN_PAUSE_MS, Math.floor(stale / 2));
}

/** Now, on CLOCK_MONOTONIC, in ms. */
export function monotonicMs(): bigint {
  return process.hrtime.bigint() / 1_000_000n;
}

