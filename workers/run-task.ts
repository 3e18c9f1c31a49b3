/**
 * Worker-side logic shared by the thread and process entry points: load a task module, call its
 * handler with a context, and turn whatever happens into a ResultMessage. Never throws.
 */
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import type { RunErrorCode } from '../src/errors.js';
import { isProgress, localStartAt } from '../src/executor/wire.js';
import { withFields } from '../src/log-fields.js';
import type { AbortCause, ResultMessage, TaskMessage, WireError } from '../src/executor/wire.js';
import { RunOutput, type RunFields } from './handler-output.js';
import type { RunAbort } from './run-abort.js';

/** What a handler receives as its second argument (SPEC §2). */
export interface TaskRunContext {
  readonly signal: AbortSignal;
  readonly log: Logger;
  readonly attempt: number;
  progress(progress: number): Promise<void>;
}

/** The part of a task definition a worker uses. */
interface RunnableTask {
  run(params: unknown, ctx: TaskRunContext): unknown;
}

/** What the entry point provides for one run. */
export interface RunEnvironment {
  /** The run's abort: ctx.signal is its signal. */
  abort: RunAbort;
  /**
   * The worker's logger (made with the boundFields mixin): the handler's ctx.log is a child
   * writing { taskId, type, attempt, worker }, and its printed lines are written through it.
   */
  logger: Logger;
  /** This worker's name, e.g. `thread-3`. */
  worker: string;
  /** Delivers a validated progress value to the executor, without waiting for it. */
  reportProgress(progress: number): void;
}

/** Runs one task to a result. Handler faults become error results; nothing is thrown. */
export async function runTask(task: TaskMessage, env: RunEnvironment): Promise<ResultMessage> {
  const startAt = task.startAt === undefined ? undefined : localStartAt(task.startAt);
  let definition = loaded.get(task.modulePath)?.get(task.taskType);
  if (definition === undefined) {
    try {
      definition = await loadTask(task.modulePath, task.taskType);
    } catch (err) {
      return failure(task.runId, wireError('HANDLER_LOAD_FAILED', err, `cannot load task module ${task.modulePath}: `));
    }
  }
  if (startAt !== undefined && !(await heldUntil(startAt, env.abort.signal))) {
    return failure(task.runId, { code: 'CANCELLED', name: 'AbortError', message: 'the run was aborted before it started' });
  }
  const fields = { taskId: task.taskId, type: task.taskType, attempt: task.attempt, worker: env.worker };
  const ctx = new RunContext(task.attempt, env, fields);
  // What the handler prints is tagged like its ctx.log lines (workers/handler-output.ts).
  const output = new RunOutput(fields);
  let result: ResultMessage;
  try {
    // A handler that throws rather than rejects lands in the catch all the same.
    result = serializeOutput(task.runId, await output.run(() => definition.run(task.params, ctx)));
  } catch (err) {
    result = failure(task.runId, wireError(env.abort.aborted ? 'CANCELLED' : 'HANDLER_ERROR', err));
  } finally {
    output.end(env.logger);
  }
  const lastProgress = ctx.settle();
  return lastProgress === undefined ? result : { ...result, progress: lastProgress };
}

/**
 * The last stretch of a run's wait for its due time is spun, not timed: a timer fires up to a ms
 * late (whole-ms timer granularity), which would be most of a held run's lateness.
 */
const SPIN_MS = 1;

/**
 * Waits until `startAt` (performance.now()) unless the signal aborts first: a run sent a little
 * ahead of its due time starts at it. False when aborted.
 */
async function heldUntil(startAt: number, signal: AbortSignal): Promise<boolean> {
  for (let left = startAt - performance.now(); left > 0 && !signal.aborted; left = startAt - performance.now()) {
    if (left <= SPIN_MS) {
      while (performance.now() < startAt);
      break;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, left - SPIN_MS);
      signal.addEventListener('abort', done, { once: true });
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
    });
  }
  return !signal.aborted;
}

/** The signal's reason for each cause, shaped like the platform's own (AbortSignal.timeout). */
export function abortReason(cause: AbortCause): DOMException {
  if (cause === 'timeout') return new DOMException('the run exceeded its timeout', 'TimeoutError');
  return new DOMException(cause === 'cancel' ? 'the run was cancelled' : 'the runtime is shutting down', 'AbortError');
}

/** One import per module, shared by every type it defines. */
const modules = new Map<string, Promise<Record<string, unknown>>>();
/**
 * The definitions found, per module and type: a run of one found before starts without waiting
 * on the import's promise or searching the module's exports again.
 */
const loaded = new Map<string, Map<string, RunnableTask>>();

async function loadTask(modulePath: string, type: string): Promise<RunnableTask> {
  let loading = modules.get(modulePath);
  if (loading === undefined) {
    loading = importModule(modulePath);
    modules.set(modulePath, loading);
    // Forget failures so that a transient one (a file briefly missing, EMFILE) is retried.
    loading.catch(() => modules.delete(modulePath));
  }
  const definition = pickDefinition(await loading, type);
  let types = loaded.get(modulePath);
  if (types === undefined) loaded.set(modulePath, (types = new Map()));
  types.set(type, definition);
  return definition;
}

async function importModule(modulePath: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(modulePath).href;
  // Compiled builds run without tsx's loader; tsImport brings it in for TypeScript modules only.
  return (/\.[cm]?ts$/.test(modulePath)
    ? await (await import('tsx/esm/api')).tsImport(url, import.meta.url)
    : await import(url)) as Record<string, unknown>;
}

/**
 * The definition named `type` among the module's exports, the default export first: a module a
 * definition given in code names (`module: import.meta.url`) may export several. Else the default
 * export, as a tasks-folder file has it (its type is named by that very definition).
 */
function pickDefinition(namespace: Record<string, unknown>, type: string): RunnableTask {
  const exported = (value: unknown): unknown => {
    // A module compiled to CommonJS exposes its `export default` one level down.
    const inner = (value as { __esModule?: unknown; default?: unknown } | null)?.__esModule === true ? (value as { default?: unknown }).default : value;
    return isRunnable(inner) ? inner : undefined;
  };
  const candidates = [exported(namespace.default), ...Object.entries(namespace).filter(([k]) => k !== 'default').map(([, v]) => exported(v))];
  const named = candidates.find((d) => (d as { name?: unknown } | undefined)?.name === type);
  const definition = named ?? candidates[0];
  if (definition === undefined) throw new TypeError(`it exports no task definition named "${type}" with a run(params, ctx) function`);
  return definition as RunnableTask;
}

function isRunnable(value: unknown): value is RunnableTask {
  return typeof value === 'object' && value !== null && typeof (value as { run?: unknown }).run === 'function';
}

/**
 * A handler's ctx. A class rather than an object literal with a `log` getter: such a literal
 * costs a fresh accessor each time, measured at about 0.7 µs a run, more than the rest of a no-op
 * run's context together.
 */
class RunContext implements TaskRunContext {
  readonly attempt: number;
  /** Its own property, not the prototype's, so that a handler may take it off ctx and call it. */
  readonly progress: (progress: number) => Promise<void>;
  readonly #abort: RunAbort;
  readonly #logger: Logger;
  readonly #fields: RunFields;
  #log: Logger | undefined;
  #settled = false;
  #lastProgress: number | undefined;

  constructor(attempt: number, env: RunEnvironment, fields: RunFields) {
    this.#abort = env.abort;
    this.attempt = attempt;
    this.#logger = env.logger;
    this.#fields = fields;
    this.progress = (progress) => {
      if (!isProgress(progress)) {
        throw new RangeError(`ctx.progress expects a number within 0..1, got ${typeof progress === 'number' ? progress : typeof progress}`);
      }
      if (!this.#settled) {
        this.#lastProgress = progress;
        env.reportProgress(progress);
      }
      return Promise.resolve();
    };
  }

  /** Made when first read (see RunAbort). */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Most handlers never log: the child logger is bound only when one does. */
  get log(): Logger {
    // Fields, not child bindings: a handler passing `attempt` itself must not write it twice.
    this.#log ??= withFields(this.#logger, this.#fields);
    return this.#log;
  }

  /** The run has settled: later progress is dropped. Returns the last progress reported before. */
  settle(): number | undefined {
    this.#settled = true;
    return this.#lastProgress;
  }
}

function serializeOutput(runId: string, output: unknown): ResultMessage {
  if (output === undefined) return { type: 'result', runId, ok: true, output: undefined };
  try {
    const fault = findUnserializable(output);
    if (fault !== null) {
      return failure(runId, { code: 'OUTPUT_NOT_SERIALIZABLE', name: 'TypeError', message: `the handler's output is not JSON-serialisable: ${fault}` });
    }
    // Text, not the object, crosses the thread boundary: one walk, one stringify, no structured clone.
    return { type: 'result', runId, ok: true, output: JSON.stringify(output) };
  } catch (err) {
    // A toJSON that throws, or nesting deeper than the stack.
    return failure(runId, wireError('OUTPUT_NOT_SERIALIZABLE', err, `the handler's output is not JSON-serialisable: `));
  }
}

/**
 * Walks a value the way JSON.stringify would and describes the first thing it would drop, alter
 * or throw on: functions, symbols, bigints, NaN and ±Infinity, cycles, undefined array items and
 * objects that are neither plain nor have toJSON (Map, Set, class instances). Undefined object
 * properties are allowed: JSON leaves them out, which is what an optional field means.
 */
function findUnserializable(root: unknown): string | null {
  const open = new Set<object>();
  const visit = (input: unknown, key: string, path: string): string | null => {
    let value = input;
    if ((typeof value === 'object' && value !== null) || typeof value === 'function' || typeof value === 'bigint') {
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') value = (toJSON as (key: string) => unknown).call(value, key);
    }
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return null;
      case 'number':
        return Number.isFinite(value) ? null : `${path} is ${value}`;
      case 'undefined':
      case 'function':
      case 'symbol':
      case 'bigint':
        return `${path} is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}`;
      default:
        break;
    }
    if (value === null) return null;
    const object = value as object;
    const isArray = Array.isArray(object);
    if (!isArray) {
      const proto: unknown = Object.getPrototypeOf(object);
      if (proto !== Object.prototype && proto !== null) {
        const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
        return `${path} is ${typeof name === 'string' && name !== '' ? `a ${name}` : 'an object with a custom prototype'} without toJSON`;
      }
    }
    if (open.has(object)) return `${path} refers back to an enclosing object (a cycle)`;
    open.add(object);
    let fault: string | null = null;
    if (isArray) {
      for (let i = 0; i < object.length && fault === null; i++) fault = visit(object[i], String(i), `${path}[${i}]`);
    } else {
      for (const [k, v] of Object.entries(object)) {
        if (v !== undefined) fault = visit(v, k, `${path}${/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`}`);
        if (fault !== null) break;
      }
    }
    open.delete(object);
    return fault;
  };
  return visit(root, '', 'output');
}

function failure(runId: string, error: WireError): ResultMessage {
  return { type: 'result', runId, ok: false, error };
}

/** Describes anything thrown — an Error or any other value — as `{ name, message, code, stack }`. */
function wireError(code: RunErrorCode, thrown: unknown, prefix = ''): WireError {
  let name = 'Error';
  let message: string;
  let stack: unknown;
  let ownCode: unknown;
  try {
    if (typeof thrown === 'object' && thrown !== null) {
      const fields = thrown as { name?: unknown; message?: unknown; stack?: unknown; code?: unknown };
      if (typeof fields.name === 'string') name = fields.name;
      message = typeof fields.message === 'string' ? fields.message : String(thrown);
      stack = fields.stack;
      ownCode = fields.code;
    } else {
      message = String(thrown);
    }
  } catch {
    message = 'the handler threw a value that cannot be described';
  }
  return {
    code,
    name,
    message: prefix + message,
    ...(typeof stack === 'string' ? { stack } : {}),
    ...(code === 'HANDLER_ERROR' && (typeof ownCode === 'string' || typeof ownCode === 'number') ? { handlerCode: String(ownCode) } : {}),
  };
}
