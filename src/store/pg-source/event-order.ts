import type { SpindleEvent } from '../../api/events.js';

/** How long a transaction's events wait for their notification to come back before they go regardless (ms). */
export const ECHO_WAIT_MS = 2000;

/** A place in the order: events ready to go, or (null) a transaction of this runtime heard but whose commit has not answered yet. */
interface Slot {
  events: readonly SpindleEvent[] | null;
  seq: number;
  at: number;
}

/**
 * Hands this runtime's listeners every event in the order the transactions that made them
 * committed, this runtime's own included. PostgreSQL delivers a database's notifications to each
 * listener in commit order; this runtime's transactions send theirs too (`seq` in the payload), so
 * its own events go out when their notification comes back, between the other runtimes' as
 * committed. Emitted at their commit's answer instead, a claim's events could reach a listener
 * before those of the submit it claimed, which another runtime committed first but whose
 * notification had not been read yet.
 *
 * A notification can come back before its commit's answer: it then holds the line (later events
 * wait behind it) until the answer brings its events. What cannot come back goes at once, after
 * what waits: a transaction whose payloads carried no events, and everything while the listener
 * connection is down. What waited past ECHO_WAIT_MS (a commit whose answer was lost, a
 * notification that never came) goes at the next `tick`.
 */
export class EventOrder {
  readonly #emit: (events: readonly SpindleEvent[]) => void;
  readonly #monotonic: () => number;
  #seq = 0;
  /** The line: heard, in commit order; the first not ready holds the rest. */
  #line: Slot[] = [];
  /** Committed here and sent, not heard back yet, by seq. */
  readonly #sent = new Map<number, Slot>();
  /** Heard, but given up waiting for its commit's answer: when it comes after all, its events go at once. */
  readonly #givenUp = new Set<number>();
  /** Whether notifications can come back (the listener connection is up). */
  #hearing = false;

  constructor(emit: (events: readonly SpindleEvent[]) => void, monotonic: () => number) {
    this.#emit = emit;
    this.#monotonic = monotonic;
  }

  /** The number a transaction's payloads carry, so that its notification is known when it comes back; null while none can. */
  next(): number | null {
    return this.#hearing ? ++this.#seq : null;
  }

  /** A transaction committed: its events (possibly none), and its seq when its payloads carried them (its first one the seq). */
  committed(seq: number | null, events: readonly SpindleEvent[]): void {
    if (seq !== null && this.#hearing) {
      const heard = this.#line.find((s) => s.seq === seq && s.events === null);
      if (heard !== undefined) {
        heard.events = events;
        this.#drain();
      } else if (this.#givenUp.delete(seq)) {
        this.#line.push({ events, seq, at: this.#monotonic() });
        this.#drain();
      } else if (events.length > 0) {
        this.#sent.set(seq, { events, seq, at: this.#monotonic() });
      }
      return;
    }
    if (events.length === 0) return;
    this.#line.push({ events, seq: 0, at: this.#monotonic() });
    this.#drain();
  }

  /** This runtime's notification `seq` came back. */
  heard(seq: number): void {
    // Not one of this process's (an earlier process under the same id): nothing to place.
    if (seq > this.#seq) return;
    const sent = this.#sent.get(seq);
    if (sent !== undefined) this.#sent.delete(seq);
    this.#line.push(sent ?? { events: null, seq, at: this.#monotonic() });
    this.#drain();
  }

  /** Another runtime's events, as heard. */
  others(events: readonly SpindleEvent[]): void {
    this.#line.push({ events, seq: 0, at: this.#monotonic() });
    this.#drain();
  }

  /** The listener connection is up: notifications come back from transactions begun from now on. */
  connected(): void {
    this.#hearing = true;
  }

  /** The listener connection is gone: what waits for it goes now, and until it is back events go at commit. */
  disconnected(): void {
    this.#hearing = false;
    this.#release(Infinity);
  }

  /** Lets go of what waited too long (called now and then). */
  tick(): void {
    this.#release(this.#monotonic() - ECHO_WAIT_MS);
  }

  /** Emits what is waiting, oldest first: heard (in order), then sent and not heard. */
  close(): void {
    this.#release(Infinity);
  }

  /** Everything waiting since before `before` (monotonic ms) goes: the line's holders given up, then what was sent before. */
  #release(before: number): void {
    const held = this.#line.findIndex((s) => s.events === null);
    if (held >= 0 && this.#line[held]!.at < before) {
      for (const s of this.#line) if (s.events === null && s.at < before) this.#givenUp.add(s.seq);
      this.#line = this.#line.filter((s) => s.events !== null || s.at >= before);
    }
    this.#drain();
    const late = [...this.#sent.values()].filter((s) => s.at < before);
    for (const s of late) {
      this.#sent.delete(s.seq);
      this.#line.push(s);
    }
    this.#drain();
  }

  #drain(): void {
    let i = 0;
    const line = this.#line;
    while (i < line.length && line[i]!.events !== null) {
      const events = line[i]!.events!;
      i++;
      if (events.length > 0) this.#emit(events);
    }
    if (i > 0) line.splice(0, i);
  }
}
