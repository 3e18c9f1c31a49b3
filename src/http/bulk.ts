import { randomBytes } from 'node:crypto';
import type { RuntimeApi } from '../api/runtime-api.js';
import { TASK_STATES, type TaskState } from '../api/states.js';
import type { TaskView } from '../api/views.js';
import { invalidArgument, SpindleError } from '../errors.js';
import { MAX_SUBMIT_MANY } from '../ipc/protocol.js';

export const BULK_ACTIONS = ['cancel', 'pause', 'resume', 'run-now'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

/** The states each action can apply to: only these are listed and counted. */
const APPLIES_TO: Record<BulkAction, readonly TaskState[]> = {
  cancel: ['spooled', 'queued', 'running'],
  pause: ['spooled', 'queued', 'running'],
  resume: ['spooled', 'queued', 'running'],
  'run-now': ['queued'],
};

export const BULK_DEFAULTS = {
  /** How long a confirmation stays good. */
  confirmTtlMs: 60_000,
  /** Confirmations outstanding at once; the oldest goes first. */
  maxPending: 64,
  /** Most tasks one confirmed action touches (as many as one submitMany may add). */
  maxTasks: MAX_SUBMIT_MANY,
  /** Tasks listed, then changed concurrently, per step. */
  page: 250,
  /** Errors reported in full; the rest are counted. */
  maxErrors: 20,
} as const;

export interface BulkFilter {
  state?: TaskState;
  type?: string;
}

export interface BulkPreview {
  action: BulkAction;
  filter: BulkFilter;
  /** Tasks the action would touch now (those in the states it applies to), from the runtime's counters. */
  count: number;
  /** Send it back (`{ …filter, confirm }`) to act; single use. */
  confirm: string;
  expiresAt: string;
}

export interface BulkResult {
  action: BulkAction;
  filter: BulkFilter;
  /** At most this many tasks were touched: the count confirmed (new tasks since are left alone). */
  limit: number;
  /** Tasks changed. */
  done: number;
  /** Tasks whose state no longer allowed it (INVALID_STATE), or gone (NOT_FOUND). */
  skipped: number;
  errors: Array<{ id: string; code: string }>;
  /** The ids changed (for the audit log). */
  ids: string[];
}

interface Pending {
  action: BulkAction;
  state: TaskState | undefined;
  type: string | undefined;
  count: number;
  expiresAt: number;
}

type Act = (runtime: RuntimeApi, id: string) => Promise<TaskView>;
const ACT: Record<BulkAction, Act> = {
  cancel: (r, id) => r.cancel(id),
  pause: (r, id) => r.pause(id),
  resume: (r, id) => r.resume(id),
  'run-now': (r, id) => r.runNow(id),
};

/**
 * Actions on every task matching `{ state?, type? }`, in two steps so a click cannot cancel ten
 * thousand tasks by surprise: the first call answers how many it would touch and a confirmation;
 * the second, with it, acts — walking the store's state and type indexes a page at a time, never
 * more tasks than were confirmed.
 */
export class BulkActions {
  readonly #runtime: RuntimeApi;
  readonly #pending = new Map<string, Pending>();

  constructor(runtime: RuntimeApi) {
    this.#runtime = runtime;
  }

  /** Reads `{ state?, type?, confirm? }`; errors: BAD_REQUEST, INVALID_ARGUMENT. */
  static parse(body: unknown): BulkFilter & { confirm?: string } {
    const b = body ?? {};
    if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new SpindleError('BAD_REQUEST', 'the body must be a JSON object { state?, type?, confirm? }', { field: 'body' });
    const out: BulkFilter & { confirm?: string } = {};
    for (const [key, value] of Object.entries(b)) {
      if (key !== 'state' && key !== 'type' && key !== 'confirm') throw new SpindleError('BAD_REQUEST', `unknown field ${JSON.stringify(key)}; a bulk action takes state, type and confirm`, { field: key });
      if (typeof value !== 'string') throw new SpindleError('BAD_REQUEST', `${key} must be a string`, { field: key });
    }
    const { state, type, confirm } = b as Record<string, string | undefined>;
    if (state !== undefined) {
      if (!(TASK_STATES as readonly string[]).includes(state) || state === 'none') throw invalidArgument('state', `must be one of ${TASK_STATES.slice(1).join(', ')}`);
      out.state = state as TaskState;
    }
    if (type !== undefined) out.type = type;
    if (confirm !== undefined) out.confirm = confirm;
    return out;
  }

  preview(action: BulkAction, filter: BulkFilter): BulkPreview {
    const now = this.#runtime.options.clock.now();
    this.#expire(now);
    const count = this.#count(action, filter);
    const confirm = randomBytes(18).toString('base64url');
    const expiresAt = now + BULK_DEFAULTS.confirmTtlMs;
    if (this.#pending.size >= BULK_DEFAULTS.maxPending) this.#pending.delete(this.#pending.keys().next().value!);
    this.#pending.set(confirm, { action, state: filter.state, type: filter.type, count, expiresAt });
    return { action, filter, count, confirm, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** Errors: CONFIRMATION_INVALID (unknown, used, expired, or for another action or filter). */
  async act(action: BulkAction, filter: BulkFilter, confirm: string): Promise<BulkResult> {
    const now = this.#runtime.options.clock.now();
    this.#expire(now);
    const p = this.#pending.get(confirm);
    if (p === undefined || p.action !== action || p.state !== filter.state || p.type !== filter.type) {
      throw new SpindleError('CONFIRMATION_INVALID', 'this confirmation is unknown, used, expired or for another action or filter; ask again without confirm for a new count and confirmation', { field: 'confirm' });
    }
    this.#pending.delete(confirm);
    const limit = Math.min(p.count, BULK_DEFAULTS.maxTasks);
    const result: BulkResult = { action, filter, limit, done: 0, skipped: 0, errors: [], ids: [] };
    const states = APPLIES_TO[action].filter((s) => filter.state === undefined || s === filter.state);
    let touched = 0;
    for (const state of states) {
      let cursor: string | undefined;
      while (touched < limit) {
        const page = await this.#runtime.list({ state, limit: Math.min(BULK_DEFAULTS.page, limit - touched), ...(filter.type !== undefined ? { type: filter.type } : {}), ...(cursor !== undefined ? { cursor } : {}) });
        touched += page.tasks.length;
        const settled = await Promise.allSettled(page.tasks.map((t) => ACT[action](this.#runtime, t.id)));
        settled.forEach((s, i) => {
          const id = page.tasks[i]!.id;
          if (s.status === 'fulfilled') {
            result.done++;
            result.ids.push(id);
            return;
          }
          const code = s.reason instanceof SpindleError ? s.reason.code : 'INTERNAL';
          if (code === 'INVALID_STATE' || code === 'NOT_FOUND') result.skipped++;
          else if (result.errors.length < BULK_DEFAULTS.maxErrors) result.errors.push({ id, code });
          // The runtime stopping or its store failing: the rest would fail the same way.
          if (code === 'SHUTTING_DOWN' || code === 'STORE_UNAVAILABLE') touched = limit;
        });
        if (page.cursor === null) break;
        cursor = page.cursor;
      }
    }
    return result;
  }

  #count(action: BulkAction, filter: BulkFilter): number {
    const stats = this.#runtime.stats();
    const counts = (filter.type === undefined ? stats.states : stats.types[filter.type] ?? {}) as Record<string, number>;
    let n = 0;
    for (const s of APPLIES_TO[action]) if (filter.state === undefined || s === filter.state) n += counts[s] ?? 0;
    return n;
  }

  #expire(now: number): void {
    for (const [token, p] of this.#pending) if (p.expiresAt <= now) this.#pending.delete(token);
  }
}
