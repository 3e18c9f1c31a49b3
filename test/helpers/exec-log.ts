import { appendFileSync } from 'node:fs';

/**
 * The execution log the chaos fixtures write: one `cid attempt pid start|end` line per event,
 * appended O_APPEND. The test adds `- 0 pid,pid,… kill` as soon as a killed runtime has exited,
 * naming the runtime and its workers, and `- 0 pid,pid,… gone` once all of those are gone. A
 * worker may outlive its runtime for a moment: a line it writes between the two is a ghost's.
 * File order is the order things happened. The multi-runtime fixture (test/fixtures/pg-chaos-tasks)
 * adds the wall time to each line and writes `abort` when its signal stopped it; the tests that
 * pause a runtime mark `stop` and `cont` the same way as kills.
 */
export interface Execution {
  cid: string;
  attempt: number;
  pid: number;
  /** Line indexes: its start, its end (null: never returned), the kill that cut it short. */
  startAt: number;
  endAt: number | null;
  killedAt: number | null;
  /** The `gone` line of its process, if it was killed: the latest it can have been running. */
  goneAt: number | null;
  /** It started or returned after its runtime was killed: its worker outlived the runtime. */
  ghost: boolean;
  /** Wall times of its start and end lines, when the fixture wrote them (ms since the epoch). */
  startMs: number | null;
  endMs: number | null;
  /** Its end line is an `abort`: its signal stopped it, it did not return. */
  aborted: boolean;
}

/** A line the test wrote about runtimes (kill, gone, stop, cont), with its wall time when written with one. */
export interface Mark {
  event: 'kill' | 'gone' | 'stop' | 'cont';
  pids: number[];
  at: number;
  ms: number | null;
}

export interface ParsedLog {
  /** Executions per task (client id), in start order. */
  byCid: Map<string, Execution[]>;
  /** Line indexes of the kill markers, ascending. */
  kills: number[];
  /** Every kill, gone, stop and cont line, in file order. */
  marks: Mark[];
  /** Lines that are not one whole event: a torn or interleaved write. */
  torn: number;
  /** An end line with no start before it. */
  unmatchedEnds: number;
}

const LINE = /^(\S+) (\d+) (\d+(?:,\d+)*) (start|end|abort|kill|gone|stop|cont)(?: (\d+))?$/;

/** Marks, in the log, that a runtime was killed; `pids`: it and its workers. */
export function appendKill(log: string, pids: readonly number[]): void {
  appendFileSync(log, `- 0 ${pids.join(',')} kill\n`);
}

/** Marks, in the log, that every process of a killed runtime is gone. */
export function appendGone(log: string, pids: readonly number[]): void {
  appendFileSync(log, `- 0 ${pids.join(',')} gone\n`);
}

/** Marks, in the log, that these processes were just stopped (SIGSTOP) or continued (SIGCONT), with the time. */
export function appendPause(log: string, event: 'stop' | 'cont', pids: readonly number[], ms: number = Date.now()): void {
  appendFileSync(log, `- 0 ${pids.join(',')} ${event} ${ms}\n`);
}

export function parseExecLog(text: string): ParsedLog {
  const byCid = new Map<string, Execution[]>();
  /** Executions without an end yet, by `cid attempt pid`. */
  const open = new Map<string, Execution>();
  /** The kill line of each killed process, until its gone line. */
  const killedPids = new Map<number, number>();
  const kills: number[] = [];
  const marks: Mark[] = [];
  let torn = 0;
  let unmatchedEnds = 0;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, at) => {
    const m = LINE.exec(line);
    if (m === null) {
      torn++;
      return;
    }
    const [, cid, attempt, pidField, event, msField] = m as unknown as [string, string, string, string, 'start' | 'end' | 'abort' | Mark['event'], string | undefined];
    const pids = pidField.split(',').map(Number);
    const ms = msField === undefined ? null : Number(msField);
    if (event === 'kill' || event === 'gone' || event === 'stop' || event === 'cont') marks.push({ event, pids, at, ms });
    if (event === 'stop' || event === 'cont') return;
    if (event === 'kill') {
      kills.push(at);
      for (const pid of pids) killedPids.set(pid, at);
      for (const ex of open.values()) if (killedPids.has(ex.pid)) ex.killedAt ??= at;
      return;
    }
    if (event === 'gone') {
      for (const [key, ex] of open) {
        if (!pids.includes(ex.pid)) continue;
        ex.goneAt = at;
        open.delete(key);
      }
      for (const pid of pids) killedPids.delete(pid);
      return;
    }
    const pid = pids[0]!;
    const key = `${cid} ${attempt} ${pid}`;
    const killedAt = killedPids.get(pid) ?? null;
    if (event === 'start') {
      const ex: Execution = { cid, attempt: Number(attempt), pid, startAt: at, endAt: null, killedAt, goneAt: null, ghost: killedAt !== null, startMs: ms, endMs: null, aborted: false };
      open.set(key, ex);
      const list = byCid.get(cid);
      if (list === undefined) byCid.set(cid, [ex]);
      else list.push(ex);
      return;
    }
    const ex = open.get(key);
    if (ex === undefined) {
      unmatchedEnds++;
      return;
    }
    ex.endAt = at;
    ex.endMs = ms;
    ex.aborted = event === 'abort';
    if (killedAt !== null) ex.ghost = true;
    open.delete(key);
  });
  return { byCid, kills, marks, torn, unmatchedEnds };
}

/** How many kill markers lie strictly between two line indexes. */
export function killsBetween(kills: readonly number[], from: number, to: number): number {
  let n = 0;
  for (const k of kills) if (k > from && k < to) n++;
  return n;
}
