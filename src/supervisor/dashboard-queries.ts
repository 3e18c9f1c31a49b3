import { wordsOf, errorWords } from '../api/error-words.js';
import type { SearchOptions, SearchPage, TypeOverview } from '../api/dashboard-views.js';
import { minuteOf, SERIES_RANGES, type SeriesRange, type SeriesView, seriesView } from '../api/series.js';
import { invalidArgument } from '../errors.js';
import { parseInteger } from '../duration.js';
import type { TaskReader } from '../store/task-source.js';
import type { TaskRecord } from '../task/record.js';
import type { Registry } from '../task/registry.js';
import { TASK_ID_PATTERN } from '../task/task-id.js';
import { wellFormed } from '../task/well-formed.js';
import { checkTypeFilter, ViewPager } from './read-limits.js';
import { taskView } from './task-view.js';

const SEARCH_MAX = 200;
/** Index entries one search request reads at most before it answers with what it found (`partial`). */
const SEARCH_SCAN_BUDGET = 5000;
const SEARCH_CHUNK = 500;
const MAX_QUERY_WORDS = 8;

type SearchQuery = Parameters<TaskReader['search']>[0];

export interface DashboardQueriesOptions {
  reader: TaskReader;
  registry: Registry;
  now(): number;
  maxReplyBytes: number;
}

/** The dashboard's reads: the overview, the per-minute series and search. Each is an index or counter read, never a scan. */
export class DashboardQueries {
  readonly #o: DashboardQueriesOptions;

  constructor(options: DashboardQueriesOptions) {
    this.#o = options;
  }

  readonly #knownType = (type: string): boolean => this.#o.registry.types.has(type) || this.#o.reader.knows(type);

  async overview(): Promise<TypeOverview[]> {
    const { reader, registry } = this.#o;
    const counts = reader.counts();
    const names = [...new Set([...registry.types.keys(), ...counts.keys()])].sort();
    return Promise.all(names.map(async (type): Promise<TypeOverview> => {
      const c = counts.get(type) ?? {};
      const oldest = (c.queued ?? 0) > 0 ? await reader.oldestQueued(type) : undefined;
      return {
        type,
        counts: c,
        running: c.running ?? 0,
        concurrency: registry.types.get(type)?.concurrency ?? null,
        paused: reader.paused(type),
        oldestQueued: oldest === undefined || oldest.state !== 'queued' ? null : {
          id: oldest.id,
          createdAt: new Date(oldest.createdAt).toISOString(),
          nextRunAt: oldest.nextRunAt === null ? null : new Date(oldest.nextRunAt).toISOString(),
          paused: oldest.paused,
        },
      };
    }));
  }

  /** Runs per minute of one type, or of every type added up, over the last hour or day. */
  async series(options: { type?: string; range?: string }): Promise<SeriesView> {
    const range = (options.range ?? '1h') as SeriesRange;
    if (!Object.hasOwn(SERIES_RANGES, range)) throw invalidArgument('range', `must be one of ${Object.keys(SERIES_RANGES).join(', ')}`);
    if (options.type !== undefined) wellFormed(options.type, 'type');
    checkTypeFilter(options.type, this.#knownType);
    const last = minuteOf(this.#o.now());
    const first = last - SERIES_RANGES[range] + 1;
    const types = options.type !== undefined ? [options.type] : [...this.#o.reader.counts().keys()];
    const rows = (await Promise.all(types.map((t) => this.#o.reader.series(t, first, last)))).flat();
    return seriesView(options.type ?? null, range, last, rows);
  }

  /**
   * Tasks matching every criterion given, newest first. One index range drives the search (see
   * src/store/search-keys.ts); what it does not decide is checked on the records it names, and a
   * request reads at most SEARCH_SCAN_BUDGET index entries before answering (`partial`).
   */
  async search(options: SearchOptions): Promise<SearchPage> {
    const q = this.#searchQuery(options);
    const words = q.words ?? [];
    const accept = (rec: TaskRecord): boolean => {
      if (q.type !== undefined && rec.type !== q.type) return false;
      if (words.length === 0) return true;
      const error = rec.lastRun?.error;
      if ((rec.state !== 'failed' && rec.state !== 'terminated') || error == null) return false;
      const have = new Set(errorWords(error));
      return words.every((w) => have.has(w));
    };
    const byId = new Map<string, TaskRecord>();
    const page = new ViewPager(this.#o.maxReplyBytes, async (ids) => ids.map((id) => {
      const rec = byId.get(id);
      return rec === undefined ? undefined : taskView(rec);
    }));
    let cursor = q.cursor;
    for (let scanned = 0; scanned < SEARCH_SCAN_BUDGET;) {
      const { ids, exhausted } = await this.#o.reader.search({ ...q, ...(cursor !== undefined ? { cursor } : {}) }, Math.min(SEARCH_CHUNK, SEARCH_SCAN_BUDGET - scanned));
      scanned += ids.length;
      const recs = await this.#o.reader.getMany(ids);
      byId.clear();
      const matching: string[] = [];
      recs.forEach((rec, i) => {
        if (rec !== undefined && accept(rec)) {
          byId.set(ids[i]!, rec);
          matching.push(ids[i]!);
        }
      });
      await page.collect(matching, q.limit);
      if (page.full || page.views.length >= q.limit) return { tasks: page.views, cursor: page.lastId, partial: false };
      if (exhausted || ids.length === 0) return { tasks: page.views, cursor: null, partial: false };
      cursor = ids[ids.length - 1]!;
    }
    return { tasks: page.views, cursor: cursor ?? null, partial: true };
  }

  #searchQuery(o: SearchOptions): SearchQuery {
    const limit = o.limit === undefined ? 50 : parseInteger(o.limit, 'limit', 1, SEARCH_MAX);
    if (o.idPrefix !== undefined && (typeof o.idPrefix !== 'string' || !/^[0-9a-z]{1,19}$/.test(o.idPrefix))) {
      throw invalidArgument('idPrefix', 'must be the start of a task id: 1 to 19 characters of 0-9 and a-z');
    }
    if (o.type !== undefined) wellFormed(o.type, 'type');
    checkTypeFilter(o.type, this.#knownType);
    if (o.cursor !== undefined && (typeof o.cursor !== 'string' || !TASK_ID_PATTERN.test(o.cursor))) {
      throw invalidArgument('cursor', 'must be the cursor a previous page returned');
    }
    const from = instant(o.from, 'from');
    const to = instant(o.to, 'to');
    let words: string[] | undefined;
    if (o.text !== undefined) {
      if (typeof o.text !== 'string') throw invalidArgument('text', 'must be a string');
      words = wordsOf(o.text);
      if (words.length === 0) throw invalidArgument('text', 'holds no word to search for (words are 2 to 40 letters, digits or _)');
      if (words.length > MAX_QUERY_WORDS) throw invalidArgument('text', `at most ${MAX_QUERY_WORDS} words`);
    }
    return {
      limit,
      ...(o.idPrefix !== undefined ? { idPrefix: o.idPrefix } : {}),
      ...(o.type !== undefined ? { type: o.type } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(words !== undefined ? { words } : {}),
      ...(o.cursor !== undefined ? { cursor: o.cursor } : {}),
    };
  }
}

function instant(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw invalidArgument(field, 'must be an ISO-8601 instant such as "2026-01-01T00:00:00Z"');
  return ms;
}

