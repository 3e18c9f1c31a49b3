import type { EventMap, SpindleEvent } from '../../api/events.js';
import type { RunError, TaskView } from '../../api/views.js';

/** The channel every runtime on the database LISTENs on. */
export const CHANNEL = 'spindle';

/**
 * What a transaction tells the other runtimes: a task became due at `due` (database ms: claim at
 * or after it), a run of `owner` must stop (cancelled by another runtime), or an operator paused
 * or resumed a type (read the paused types again). Sent alone, by a runtime whose listeners came:
 * `watching` (announce events from now on; see watchers.ts).
 */
export type Notice = { due: number } | { abort: { owner: string; taskId: string; run: number } } | { typePauses: true } | { watching: true };

/**
 * PostgreSQL refuses a payload of 8000 bytes or more; kept under it with room to spare. A
 * transaction's events take as many payloads as they need, all sent by one statement and
 * delivered together at commit, in order.
 */
export const MAX_PAYLOAD_BYTES = 7900;
/** A run's error message cut to this many characters when its run.ended would not fit a payload. */
const CUT_MESSAGE_CHARS = 1000;

/** Room kept in every event payload for the sequence number the first one carries. */
const SEQ_BYTES = 17;

/**
 * The payloads of a transaction's one pg_notify statement: its notices (if any) first, then its
 * events. `seq`: the transaction's number in the sender's EventOrder, carried by its first event
 * payload, so that the sender knows it when it comes back.
 */
export function notifyPayloads(from: string, notices: readonly Notice[], events: readonly SpindleEvent[], seq: number | null = null): string[] {
  const out = noticePayloads(from, notices);
  if (events.length === 0) return out;
  // Events go in payloads of their own, `e` then a JSON array whose first item is the sender (then,
  // in the first, the seq): a receiver skips its own, or all of them while nobody there listens,
  // without parsing them.
  const head = `e[${JSON.stringify(from)}`;
  const headBytes = Buffer.byteLength(head) + SEQ_BYTES + 1;
  let payload = seq === null ? head : `${head},${Math.trunc(seq)}`;
  let empty = payload;
  let bytes = headBytes;
  for (const event of events) {
    const item = encodeFitting(event, MAX_PAYLOAD_BYTES - headBytes - 1);
    const itemBytes = item.length === 0 ? 0 : Buffer.byteLength(item) + 1;
    if (itemBytes === 0) continue;
    if (bytes + itemBytes > MAX_PAYLOAD_BYTES && payload !== empty) {
      out.push(`${payload}]`);
      payload = empty = head;
      bytes = headBytes;
    }
    payload += `,${item}`;
    bytes += itemBytes;
  }
  if (payload !== empty) out.push(`${payload}]`);
  return out;
}

/** Notices are small, but a sweep that ends a hundred runs of another runtime asks as many aborts: split, never refused. */
function noticePayloads(from: string, notices: readonly Notice[]): string[] {
  if (notices.length === 0) return [];
  const whole = JSON.stringify({ from, notices });
  if (Buffer.byteLength(whole) <= MAX_PAYLOAD_BYTES) return [whole];
  const half = Math.ceil(notices.length / 2);
  return [...noticePayloads(from, notices.slice(0, half)), ...noticePayloads(from, notices.slice(half))];
}

/**
 * What one payload says: `events` is null when it carries none or when they were skipped (`wanted`
 * false, or our own); `own` is the seq of one of our own transactions' first event payload.
 */
export type Parsed = { from: string; notices: Notice[]; events: null } | { from: string; notices: []; events: SpindleEvent[] }
  | { from: string; notices: []; events: null; own: number };

/** A payload read back; null when it is not one of ours, or is ours to skip (`me` sent it, or its events are not `wanted`). */
export function parsePayload(payload: string | undefined, me: string, wanted: () => boolean): Parsed | null {
  if (payload === undefined) return null;
  try {
    if (payload.startsWith('e')) {
      const mine = `e[${JSON.stringify(me)},`;
      if (payload.startsWith(mine)) {
        // Our own: only the seq is read, never the events (emitted here from the objects made).
        const seq = Number.parseInt(payload.slice(mine.length, mine.length + SEQ_BYTES), 10);
        return Number.isSafeInteger(seq) ? { from: me, notices: [], events: null, own: seq } : null;
      }
      if (!wanted()) return null;
      const [from, ...items] = JSON.parse(payload.slice(1)) as [string, ...Array<Item | number>];
      return { from, notices: [], events: items.flatMap((item) => (typeof item === 'number' ? [] : [decode(item)])) };
    }
    const parsed = JSON.parse(payload) as { from?: unknown; notices?: unknown };
    if (typeof parsed.from !== 'string' || !Array.isArray(parsed.notices) || parsed.from === me) return null;
    return { from: parsed.from, notices: parsed.notices as Notice[], events: null };
  } catch {
    return null;
  }
}

/*
 * An event on the wire: an array, its kind first (the names would be most of its bytes).
 *   task.state:  [0, id, type, from, to, reason, at, task?]   (task: its view, or 1 when left out: `truncated`)
 *   run.started: [1, id, type, attempt, run, startedAt]
 *   run.ended:   [2, id, type, attempt, run, state, startedAt, endedAt, durationMs, worker, error, truncated, output?]
 * A run.ended without its output has no last item (`truncated` 1 says it was left out).
 */
type Item = [number, ...unknown[]];

function encode(ev: SpindleEvent): Item {
  switch (ev.event) {
    case 'task.state': {
      const d = ev.data;
      const item: Item = [0, d.id, d.type, d.from, d.to, d.reason, d.at];
      if (d.task !== undefined) item.push(d.task);
      else if (d.truncated === true) item.push(1);
      return item;
    }
    case 'run.started': {
      const d = ev.data;
      return [1, d.id, d.type, d.attempt, d.run, d.startedAt];
    }
    case 'run.ended': {
      const d = ev.data;
      const item: Item = [2, d.id, d.type, d.attempt, d.run, d.state, d.startedAt, d.endedAt, d.durationMs, d.worker, d.error ?? null, d.truncated === true ? 1 : 0];
      if ('output' in d) item.push(d.output);
      return item;
    }
    // Progress is not written, so no transaction carries it.
    case 'run.progress': return [3];
  }
}

/**
 * The event as JSON within `maxBytes`; a run.ended too large loses its output and error stack, and
 * a long message is cut; a task.state too large loses the task it carries. '' for what is not sent.
 */
function encodeFitting(ev: SpindleEvent, maxBytes: number): string {
  if (ev.event === 'run.progress') return '';
  const text = JSON.stringify(encode(ev));
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return text;
  if (ev.event === 'task.state') {
    const { task: _task, ...rest } = ev.data;
    return JSON.stringify(encode({ event: 'task.state', data: { ...rest, truncated: true } }));
  }
  if (ev.event !== 'run.ended') return text;
  const { output: _output, error, ...rest } = ev.data;
  const data: EventMap['run.ended'] = { ...rest, truncated: true };
  if (error !== undefined) {
    const { stack: _stack, ...kept } = error;
    data.error = { ...kept, message: kept.message.length > CUT_MESSAGE_CHARS ? `${kept.message.slice(0, CUT_MESSAGE_CHARS)}…` : kept.message };
  }
  return JSON.stringify(encode({ event: 'run.ended', data }));
}

function decode(item: Item): SpindleEvent {
  const [kind, id, type] = item as [number, string, string];
  const v = item;
  switch (kind) {
    case 0: {
      const data: EventMap['task.state'] = { id, type, from: v[3] as never, to: v[4] as never, reason: v[5] as never, at: v[6] as string };
      if (v[7] === 1) data.truncated = true;
      else if (v.length > 7) data.task = v[7] as TaskView;
      return { event: 'task.state', data };
    }
    case 1:
      return { event: 'run.started', data: { id, type, attempt: v[3] as number, run: v[4] as number, startedAt: v[5] as string } };
    default: {
      const data: EventMap['run.ended'] = {
        id, type, attempt: v[3] as number, run: v[4] as number, state: v[5] as string,
        startedAt: v[6] as string, endedAt: v[7] as string, durationMs: v[8] as number | null, worker: v[9] as string | null,
      };
      if (v[10] !== null) data.error = v[10] as RunError;
      if (v[11] === 1) data.truncated = true;
      if (v.length > 12) data.output = v[12];
      return { event: 'run.ended', data };
    }
  }
}
