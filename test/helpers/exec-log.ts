import { appendFileSync } from 'node:fs';

/**
 * The execution log the chaos fixtures write: one `cid attempt pid start|end` line per event,
 * appended O_APPEND, plus the `- 0 pid kill` lines the test appends once a killed runtime and all
 * its processes are gone. File order is the order things happened.
 */
export interface Execution {
  cid: string;
  attempt: number;
  pid: number;
  /** Line index of its start, its end (null: never returned), the first kill after it started. */
  startAt: number;
  endAt: number | null;
  killedAt: number | null;
}

export interface ParsedLog {
  /** Executions per task (client id), in start order. */
  byCid: Map<string, Execution[]>;
  /** Line indexes of the kill markers, ascending. */
  kills: number[];
  /** Lines that are not one whole event: a torn or interleaved write. */
  torn: number;
  /** An end line with no start before it. */
  unmatchedEnds: number;
}

const LINE = /^(\S+) (\d+) (\d+) (start|end|kill)$/;

/** Marks, in the log, the moment a killed runtime (and everything it ran) was seen gone. */
export function appendKill(log: string, pid: number): void {
  appendFileSync(log, `- 0 ${pid} kill\n`);
}

export function parseExecLog(text: string): ParsedLog {
  const byCid = new Map<string, Execution[]>();
  const open = new Map<string, Execution>();
  const kills: number[] = [];
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
    const [, cid, attempt, pid, event] = m as unknown as [string, string, string, string, 'start' | 'end' | 'kill'];
    if (event === 'kill') {
      kills.push(at);
      for (const ex of open.values()) ex.killedAt ??= at;
      open.clear();
      return;
    }
    const key = `${cid} ${attempt} ${pid}`;
    if (event === 'start') {
      const ex: Execution = { cid, attempt: Number(attempt), pid: Number(pid), startAt: at, endAt: null, killedAt: null };
      open.set(key, ex);
      const list = byCid.get(cid);
      if (list === undefined) byCid.set(cid, [ex]);
      else list.push(ex);
      return;
    }
    const ex = open.get(key);
    if (ex === undefined) unmatchedEnds++;
    else {
      ex.endAt = at;
      open.delete(key);
    }
  });
  return { byCid, kills, torn, unmatchedEnds };
}

/** How many kill markers lie strictly between two line indexes. */
export function killsBetween(kills: readonly number[], from: number, to: number): number {
  let n = 0;
  for (const k of kills) if (k > from && k < to) n++;
  return n;
}
