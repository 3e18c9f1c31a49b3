/**
 * The page's one connection to `/events`. Events are not applied one by one: they mark what
 * changed (task ids, types) and a change is announced at most every `coalesceMs`, so a burst of
 * thousands of transitions costs a handful of page reads, never one read per event. `ready` (a
 * stream opened, or re-opened after a drop of the connection) and `dropped` (the runtime skipped
 * events for this slow reader) announce a full re-read. No polling: without events, nothing is read.
 */

export interface Change {
  /** Re-read everything shown: the stream (re)opened or events were dropped. */
  full: boolean;
  /** Tasks whose state changed or whose run ended. */
  ids: ReadonlySet<string>;
  /** Their types. */
  types: ReadonlySet<string>;
  /** Some task was created (from `none`). */
  created: boolean;
  seq: number;
}

export type ConnectionState = 'connecting' | 'live' | 'reconnecting';

export interface LiveOptions {
  url: string;
  coalesceMs: number;
  onChange(change: Change): void;
  onConnection(state: ConnectionState): void;
}

interface TaskEventData { id?: unknown; type?: unknown; from?: unknown }

/** EventSource retries by itself after a dropped connection, but gives up on an HTTP error (a 503 while the runtime stops): then the page opens a new one after this. */
const REOPEN_MS = 5000;

export class Live {
  readonly #o: LiveOptions;
  #source: EventSource;
  #reopen: ReturnType<typeof setTimeout> | null = null;
  #ids = new Set<string>();
  #types = new Set<string>();
  #created = false;
  #full = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #last = 0;
  #seq = 0;

  constructor(options: LiveOptions) {
    this.#o = options;
    options.onConnection('connecting');
    this.#source = this.#open();
  }

  close(): void {
    this.#source.close();
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#reopen !== null) clearTimeout(this.#reopen);
  }

  #open(): EventSource {
    const source = new EventSource(this.#o.url);
    source.addEventListener('ready', () => {
      this.#o.onConnection('live');
      this.#mark(true);
    });
    source.addEventListener('dropped', () => this.#mark(true));
    source.addEventListener('error', () => {
      this.#o.onConnection('reconnecting');
      if (source.readyState === EventSource.CLOSED && this.#reopen === null) {
        this.#reopen = setTimeout(() => { this.#reopen = null; this.#source = this.#open(); }, REOPEN_MS);
      }
    });
    for (const name of ['task.state', 'run.ended']) {
      source.addEventListener(name, (e) => this.#onEvent(e as MessageEvent<string>));
    }
    return source;
  }

  #onEvent(e: MessageEvent<string>): void {
    let data: TaskEventData;
    try {
      data = JSON.parse(e.data) as TaskEventData;
    } catch {
      return this.#mark(true);
    }
    if (typeof data.id === 'string') this.#ids.add(data.id);
    if (typeof data.type === 'string') this.#types.add(data.type);
    if (data.from === 'none') this.#created = true;
    this.#mark(false);
  }

  #mark(full: boolean): void {
    this.#full ||= full;
    if (this.#timer !== null) return;
    // The first change after a quiet spell goes out at once; the next waits out the interval.
    const wait = Math.max(0, this.#last + this.#o.coalesceMs - Date.now());
    this.#timer = setTimeout(() => this.#flush(), full ? 0 : wait);
  }

  #flush(): void {
    this.#timer = null;
    this.#last = Date.now();
    const change: Change = { full: this.#full, ids: this.#ids, types: this.#types, created: this.#created, seq: ++this.#seq };
    this.#ids = new Set();
    this.#types = new Set();
    this.#created = false;
    this.#full = false;
    this.#o.onChange(change);
  }
}
