import { appendFileSync } from 'node:fs';

/**
 * The execution log the chaos fixtures write: one `cid attempt pid start|end` line per event,
 * appended O_APPEND, plus the `- 0 pid kill` line the test appends as soon as a killed runtime has
 * exited (its worker processes may not be gone yet: an end line after the kill is a ghost). File
 * order is the order things happened.
 */
export interface Execution {
  cid: string;
  attempt: number;
  pid: number;
  /** Line index of its start, its end (null: never returned), the first kill after it started. */
  startAt: number;
  endAt: number | null;
  killedAt: number | null;
  /** It returned after its runtime was killed: its process outlived the runtime. */
  ghost: boolean;
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

/** Marks, in the log, the moment a killed runtime was seen gone. */
export function appendKill(log: string, pid: number): void {
  appendFileSync(log, `- 0 ${pid} kill\n`);
}

export function parseExecLog(text: string): ParsedLog {
  const byCid = new Map<string, Execution[]>();
  const open = new Map<string, Execution>();
  const killed = new Map<string, Execution>();
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
      for (const [key, ex] of open) {
        ex.killedAt = at;
        killed.set(key, ex);
      }
      open.clear();
      return;
    }
    const key = `${cid} ${attempt} ${pid}`;
    if (event === 'start') {
      const ex: Execution = { cid, attempt: Number(attempt), pid: Number(pid), startAt: at, endAt: null, killedAt: null, ghost: false };
      open.set(key, ex);
      const list = byCid.get(cid);
      if (list === undefined) byCid.set(cid, [ex]);
      else list.push(ex);
      return;
    }
    const ex = open.get(key);
    const ghost = killed.get(key);
    if (ex !== undefined) {
      ex.endAt = at;
      open.delete(key);
    } else if (ghost !== undefined) {
      ghost.endAt = at;
      ghost.ghost = true;
      killed.delete(key);
    } else unmatchedEnds++;
  });
  return { byCid, kills, torn, unmatchedEnds };
}

/** How many kill markers lie strictly between two line indexes. */
export function killsBetween(kills: readonly number[], from: number, to: number): number {
  let n = 0;
  for (const k of kills) if (k > from && k < to) n++;
  return n;
}
