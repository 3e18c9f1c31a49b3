import type { TaskState, TaskView } from '../../src/index.js';
import { type Execution, killsBetween, type ParsedLog, parseExecLog } from './exec-log.js';

/**
 * Jepsen's total-queue checker, for Spindle: what every client was told, what the handlers ran
 * (the execution log), and the final store, compared. Tasks are named by a client id (`cid`, in
 * their params), because a submit that got no answer has no store id to look for.
 */
export type Told = 'ok' | 'refused' | 'inDoubt';

export interface Batch {
  readonly cids: readonly string[];
  told?: Told;
  /** The store ids the ok answer gave, in order. */
  ids?: readonly string[];
  code?: string;
}

/** Client errors that say nothing of whether the runtime took the call. */
const NO_ANSWER = new Set(['CONNECTION_LOST', 'RUNTIME_UNREACHABLE', 'CLIENT_CLOSED']);

export interface Verdict {
  submitted: number;
  acknowledged: number;
  inDoubt: number;
  refused: number;
  /** In-doubt submits found stored (each whole: see halfBatches). */
  recovered: number;
  /** Acknowledged (or recovered) but absent, or present but not in an accepted end state. */
  lost: string[];
  /** Present but never submitted, refused, stored twice, or under another id than acknowledged. */
  unexpected: string[];
  /** Submit calls that got no answer, and those of them found stored whole. */
  inDoubtBatches: number;
  recoveredBatches: number;
  /** In-doubt submitMany batches found partly stored: never allowed. */
  halfBatches: number;
  executions: number;
  /** Executions cut short by a kill (no end line, a kill after their start), ghosts included. */
  interrupted: number;
  /**
   * Executions that returned after their runtime was killed: the worker process outlived it for a
   * moment. Harmless unless it overlaps the rerun (counted in overlapping).
   */
  ghosts: number;
  /** New executions of a task after a kill interrupted its previous one: the allowed duplicates. */
  reruns: number;
  /**
   * New executions after a handler returned but a kill landed before `finished` was written: the
   * earlier attempt of each, to confirm against the store's runs (it must be recorded lost).
   */
  rerunsAfterUnrecordedEnd: Array<{ cid: string; attempt: number }>;
  /** Two executions of one task at once, both in live runtimes: a double dispatch. */
  overlapping: number;
  /**
   * A rerun that started before the worker holding the killed run was seen gone (its `gone`
   * line): the dying worker may still have been running it.
   */
  ghostOverlaps: number;
  /** The tasks of both kinds of overlap, to look up in the log. */
  overlapCids: string[];
  /** An execution after the previous one returned with no kill in between: a finished task ran again. */
  afterFinished: number;
  /** Tries consumed that no kill explains: attempt numbers that go back or jump past the kills. */
  triesUnexplained: number;
  /** Finished tasks whose stored `tries` is not the attempt of their last execution, or that never ran. */
  triesMismatch: number;
  /** Executions that never ended and were never killed. */
  unended: number;
  /** Log lines that are not one whole event, or ends without a start. */
  tornLines: number;
  kills: number;
}

export class Checker {
  readonly #batches: Batch[] = [];
  readonly #byCid = new Map<string, { batch: Batch; index: number }>();

  /** Records a submit (one task or a submitMany batch) about to be sent. */
  begin(cids: readonly string[]): Batch {
    const batch: Batch = { cids };
    this.#batches.push(batch);
    cids.forEach((cid, index) => {
      if (this.#byCid.has(cid)) throw new Error(`client id ${cid} submitted twice`);
      this.#byCid.set(cid, { batch, index });
    });
    return batch;
  }

  ok(batch: Batch, ids: readonly string[]): void {
    if (ids.length !== batch.cids.length) throw new Error(`an answer of ${ids.length} tasks to a batch of ${batch.cids.length}`);
    batch.told = 'ok';
    batch.ids = ids;
  }

  /** A failed call: refused by the runtime (must be absent), or unanswered (in doubt). */
  failed(batch: Batch, err: unknown): void {
    const code = (err as { code?: unknown }).code;
    batch.code = typeof code === 'string' ? code : String(err);
    batch.told = typeof code === 'string' && !NO_ANSWER.has(code) ? 'refused' : 'inDoubt';
  }

  get batches(): readonly Batch[] {
    return this.#batches;
  }

  /**
   * Compares. `store` is every task of the final store; `log` the execution log's text;
   * `accept` the states a stored task may end in (default: finished).
   */
  check(store: readonly TaskView[], log: string, accept: readonly TaskState[] = ['finished']): Verdict {
    const unsettled = this.#batches.filter((b) => b.told === undefined).length;
    if (unsettled > 0) throw new Error(`${unsettled} submits still waiting for an answer`);
    const parsed = parseExecLog(log);
    const v: Verdict = {
      submitted: 0, acknowledged: 0, inDoubt: 0, refused: 0, recovered: 0, lost: [], unexpected: [], inDoubtBatches: 0, recoveredBatches: 0, halfBatches: 0,
      executions: 0, interrupted: 0, ghosts: 0, reruns: 0, rerunsAfterUnrecordedEnd: [], overlapping: 0, ghostOverlaps: 0, overlapCids: [], afterFinished: 0,
      triesUnexplained: 0, triesMismatch: 0, unended: 0, tornLines: parsed.torn + parsed.unmatchedEnds, kills: parsed.kills.length,
    };
    const byId = new Map(store.map((t) => [t.id, t]));
    const storedByCid = new Map<string, TaskView[]>();
    for (const t of store) {
      const cid = cidOf(t);
      const list = storedByCid.get(cid);
      if (list === undefined) storedByCid.set(cid, [t]);
      else list.push(t);
    }
    for (const batch of this.#batches) {
      v.submitted += batch.cids.length;
      if (batch.told === 'ok') {
        v.acknowledged += batch.cids.length;
        batch.cids.forEach((cid, i) => {
          const t = byId.get(batch.ids![i]!);
          if (t === undefined || cidOf(t) !== cid || !accept.includes(t.state)) v.lost.push(cid);
        });
      } else if (batch.told === 'refused') v.refused += batch.cids.length;
      else {
        v.inDoubt += batch.cids.length;
        v.inDoubtBatches++;
        const stored = batch.cids.filter((cid) => storedByCid.has(cid));
        if (stored.length > 0 && stored.length < batch.cids.length) v.halfBatches++;
        if (stored.length === batch.cids.length) v.recoveredBatches++;
        v.recovered += stored.length;
        for (const cid of stored) if (!accept.includes(storedByCid.get(cid)![0]!.state)) v.lost.push(cid);
      }
    }
    for (const [cid, tasks] of storedByCid) {
      const at = this.#byCid.get(cid);
      if (at === undefined || at.batch.told === 'refused' || tasks.length > 1) v.unexpected.push(cid);
      else if (at.batch.told === 'ok' && at.batch.ids![at.index] !== tasks[0]!.id) v.unexpected.push(cid);
    }
    for (const [cid, runs] of parsed.byCid) {
      if (!storedByCid.has(cid)) v.unexpected.push(`${cid} (executed, not stored)`);
      judgeExecutions(runs, parsed, v);
    }
    for (const t of store) {
      if (t.state !== 'finished') continue;
      const last = parsed.byCid.get(cidOf(t))?.at(-1);
      if (last === undefined || last.endAt === null || last.ghost || last.attempt !== t.tries) v.triesMismatch++;
    }
    return v;
  }
}

/** Classifies one task's executions, in start order, into the verdict's counts. */
function judgeExecutions(runs: readonly Execution[], parsed: ParsedLog, v: Verdict): void {
  // A ghost that started after its runtime's kill line was dispatched before it: count from there.
  const dispatchedAt = (ex: Execution): number => (ex.killedAt !== null && ex.killedAt < ex.startAt ? ex.killedAt - 0.5 : ex.startAt);
  runs.forEach((cur, i) => {
    v.executions++;
    if (cur.killedAt !== null) v.interrupted++;
    if (cur.ghost) v.ghosts++;
    if (cur.endAt === null && cur.killedAt === null) v.unended++;
    if (i === 0) {
      // A try can be spent with no line: the run was written started, then a kill, before the handler began.
      if (cur.attempt < 1 || cur.attempt - 1 > killsBetween(parsed.kills, -1, dispatchedAt(cur))) v.triesUnexplained++;
      return;
    }
    const prev = runs[i - 1]!;
    const still = runs.slice(0, i).filter((ex) => (ex.endAt ?? ex.goneAt ?? ex.killedAt ?? Infinity) > cur.startAt);
    if (still.length > 0) {
      v.overlapCids.push(cur.cid);
      if (still.every((ex) => ex.killedAt !== null)) v.ghostOverlaps++;
      else v.overlapping++;
    } else if (prev.endAt === null || prev.ghost) v.reruns++;
    else if (killsBetween(parsed.kills, prev.endAt, cur.startAt) > 0) v.rerunsAfterUnrecordedEnd.push({ cid: cur.cid, attempt: prev.attempt });
    else v.afterFinished++;
    const spent = cur.attempt - prev.attempt;
    if (spent < 1 || spent > killsBetween(parsed.kills, dispatchedAt(prev), dispatchedAt(cur))) v.triesUnexplained++;
  });
}

function cidOf(t: TaskView): string {
  return String((t.params as { cid?: unknown } | null)?.cid);
}

/** The figures of a verdict on one line, for the README's Reliability section. */
/** `seed` null: a test with no random choices. */
export function summaryLine(name: string, seed: number | null, v: Verdict, extra: Record<string, number | string> = {}): string {
  const figures: Record<string, number | string> = {
    seed: seed ?? 'none', kills: v.kills, submitted: v.submitted, acknowledged: v.acknowledged, inDoubt: v.inDoubt, recovered: v.recovered,
    inDoubtBatches: v.inDoubtBatches, recoveredBatches: v.recoveredBatches, refused: v.refused, lost: v.lost.length, unexpected: v.unexpected.length, halfBatches: v.halfBatches,
    executions: v.executions, interrupted: v.interrupted, ghosts: v.ghosts, reruns: v.reruns, rerunsAfterUnrecordedEnd: v.rerunsAfterUnrecordedEnd.length,
    overlapping: v.overlapping, ghostOverlaps: v.ghostOverlaps, afterFinished: v.afterFinished, ...extra,
  };
  return `[chaos] ${name}: ${Object.entries(figures).map(([k, n]) => `${k}=${n}`).join(' ')}`;
}
