import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import ajvFormats from 'ajv-formats';
import type { Logger } from 'pino';
import { tsImport } from 'tsx/esm/api';
import { describe } from '../duration.js';
import type { ErrorCode } from '../errors.js';
import { invalidArgument, isSpindleError, SpindleError } from '../errors.js';
import type { Isolation, RetryPolicy } from './task-options.js';
import {
  concurrencyOption, isolationOption, maxQueuedOption, maxTriesOption, priorityOption, retentionOption,
  retryOption, timeoutOption,
} from './task-options.js';

/** A loaded task type: its module's definition, validated and resolved with defaults. Frozen. */
export interface TaskType {
  readonly name: string;
  readonly description: string | undefined;
  /** Absolute real path of the module, verified to lie inside the tasks directory. */
  readonly file: string;
  /** The params JSON Schema (a frozen copy), or undefined when the type accepts any JSON value. */
  readonly paramsSchema: unknown;
  readonly timeoutMs: number;
  readonly maxTries: number;
  readonly retry: RetryPolicy;
  readonly concurrency: number | null;
  readonly priority: number;
  readonly maxQueued: number | null;
  readonly isolation: Isolation | undefined;
  /** ms; null keeps terminal tasks forever; undefined: the runtime's retention applies. */
  readonly retentionMs: number | null | undefined;
  /**
   * Throws INVALID_PARAMS with `details.paths` when params do not satisfy the schema. Without a
   * schema any value is accepted; with one, absent params are checked as `{}` (what a submit
   * stores for them), so a schema with `required` fields refuses a submit that forgot them.
   */
  validateParams(params: unknown): void;
}

/** A module that could not become a type; `file` is its path in the tasks directory. */
export interface TaskModuleProblem {
  readonly file: string;
  readonly code: ErrorCode;
  readonly message: string;
}

export interface Registry {
  readonly types: ReadonlyMap<string, TaskType>;
  readonly problems: readonly TaskModuleProblem[];
}

export interface LoadRegistryOptions {
  tasksDir: string;
  logger: Logger;
}

export const TYPE_NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;
export const MAX_TYPE_NAME_LENGTH = 100;

const MODULE_EXTENSIONS = new Set(['.js', '.mjs', '.ts']);
/**
 * Files that configure how the modules beside them load or typecheck (`"type": "module"`, say):
 * skipped without a warning, since a folder that needs one would otherwise warn at every start.
 */
const CONFIG_FILES = new Set(['package.json', 'tsconfig.json']);
/** What to do with a file whose extension is close to a module's but is not loaded. */
const EXTENSION_HINTS: Readonly<Record<string, string>> = {
  '.cjs': 'a task module is an ES module with `export default`: rename it to .mjs and export its definition',
  '.mts': 'rename it to .ts',
  '.cts': 'a task module is an ES module with `export default`: rename it to .ts and export its definition',
  '.jsx': 'rename it to .js',
  '.tsx': 'rename it to .ts',
};
const DEFINITION_FIELDS = new Set([
  'name', 'description', 'params', 'timeout', 'maxTries', 'retry', 'concurrency', 'priority', 'maxQueued',
  'isolation', 'retention', 'run',
]);
/** Keeps an INVALID_PARAMS answer small even for params with thousands of bad keys. */
const MAX_REPORTED_PATHS = 100;
const PATHS_IN_MESSAGE = 10;

export function isTypeName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= MAX_TYPE_NAME_LENGTH && TYPE_NAME_RE.test(name);
}

/**
 * Loads every task module directly in `tasksDir` (`.js`, `.mjs`, `.ts`; not `.d.ts`, dotfiles or
 * subdirectories), in file-name order. A module that cannot be loaded or whose definition is
 * invalid is logged and recorded in `problems`, and the others still load. Anything else in the
 * folder (but dotfiles and `package.json`/`tsconfig.json`) is logged as a warning saying why it
 * was skipped, and so is a folder with no modules at all: a task that silently never loads is
 * otherwise only found when its submits are refused. Throws TASKS_DIR_INVALID when the directory
 * itself cannot be read.
 */
export async function loadRegistry({ tasksDir, logger }: LoadRegistryOptions): Promise<Registry> {
  const dir = resolve(tasksDir);
  let realDir: string;
  let entries: Dirent[];
  try {
    realDir = await realpath(dir);
    if (!(await stat(realDir)).isDirectory()) throw new Error('not a directory');
    entries = (await readdir(realDir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (err) {
    throw new SpindleError('TASKS_DIR_INVALID', `tasks directory ${dir} cannot be read (${(err as Error).message}); create it or pass --tasks DIR`, { path: dir }, err);
  }

  const types = new Map<string, TaskType>();
  const problems: TaskModuleProblem[] = [];
  const report = (file: string, code: ErrorCode, message: string, err?: unknown): void => {
    problems.push(Object.freeze({ file, code, message }));
    logger.error({ file, code, ...(err === undefined ? {} : { err }) }, `task module ${file} not loaded: ${message}`);
  };
  const compiler = new SchemaCompiler(logger);

  let modules = 0;
  for (const entry of entries) {
    const { name } = entry;
    if (name.startsWith('.') || CONFIG_FILES.has(name)) continue;
    const file = join(dir, name);
    const skipped = whySkipped(entry);
    if (skipped !== null) {
      logger.warn({ file, reason: skipped }, `${file} skipped, not loaded as a task module: ${skipped}`);
      continue;
    }
    modules++;
    let real: string;
    try {
      real = await realpath(file);
      if (!(await stat(real)).isFile()) throw new Error('not a regular file');
    } catch (err) {
      report(file, 'HANDLER_LOAD_FAILED', `cannot be resolved: ${(err as Error).message}`, err);
      continue;
    }
    if (!isInside(realDir, real)) {
      // Checked before importing: importing is what runs a module's code.
      report(file, 'TASKS_DIR_INVALID', `resolves to ${real}, outside the tasks directory ${realDir}; move the module into the directory`);
      continue;
    }
    let exported: unknown;
    try {
      exported = await importModule(real);
    } catch (err) {
      report(file, 'HANDLER_LOAD_FAILED', `failed to import: ${(err as Error)?.message ?? String(err)}`, err);
      continue;
    }
    let type: TaskType;
    try {
      type = resolveDefinition(exported, real, compiler);
    } catch (err) {
      report(file, isSpindleError(err) ? err.code : 'INVALID_ARGUMENT', `invalid definition: ${(err as Error)?.message ?? String(err)}`);
      continue;
    }
    const first = types.get(type.name);
    if (first !== undefined) {
      report(file, 'INVALID_ARGUMENT', `type name "${type.name}" is already defined by ${first.file}; rename one of them`);
      continue;
    }
    types.set(type.name, type);
  }
  if (modules === 0) {
    logger.warn({ tasksDir: dir }, `tasks folder ${dir} holds no task modules (.js, .mjs or .ts files): every submit will be refused as UNKNOWN_TYPE until one is added and the runtime restarted`);
  }
  return Object.freeze({ types, problems: Object.freeze(problems) });
}

/**
 * Finds a type by name. Names are checked against the type-name rule first so that a path, URL
 * or builtin specifier is refused as what it is — not a type — and never reaches anything else.
 */
export function lookupType(registry: Registry, name: string): TaskType {
  const type = isTypeName(name) ? registry.types.get(name) : undefined;
  if (type === undefined) {
    const known = [...registry.types.keys()].sort();
    throw new SpindleError('UNKNOWN_TYPE', `unknown task type ${describe(name)}; known types: ${known.length === 0 ? '(none)' : known.join(', ')}`, { field: 'type', known });
  }
  return type;
}

/** Why an entry of the tasks folder is not a module to load, or null when it is one. */
function whySkipped(entry: Dirent): string | null {
  const ext = extname(entry.name);
  // A folder named like a module is tried, and reported as a problem when it fails to load.
  if (entry.name.endsWith('.d.ts')) return 'a TypeScript declaration file, not a module';
  if (MODULE_EXTENSIONS.has(ext)) return null;
  if (entry.isDirectory()) return 'a subfolder; only modules directly in the tasks folder are loaded (a module there may import from it)';
  const hint = EXTENSION_HINTS[ext];
  return `only .js, .mjs and .ts files are task modules${hint === undefined ? '' : `; ${hint}`}`;
}

function isInside(dir: string, file: string): boolean {
  const rel = relative(dir, file);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

async function importModule(file: string): Promise<unknown> {
  const url = pathToFileURL(file).href;
  const mod = (file.endsWith('.ts') ? await tsImport(url, import.meta.url) : await import(url)) as { default?: unknown };
  const exported = mod.default;
  // A module compiled to CommonJS (e.g. a .ts file outside a "type": "module" package) exposes
  // its `export default` one level down, marked the Babel/esbuild way.
  if (isRecord(exported) && exported.__esModule === true) return exported.default;
  return exported;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function resolveDefinition(value: unknown, file: string, compiler: SchemaCompiler): TaskType {
  if (!isRecord(value)) throw invalidArgument('default', `the default export must be a task definition object, got ${describe(value)}`);
  for (const key of Object.keys(value)) {
    // Refused rather than ignored: a misspelt option would otherwise silently keep its default.
    if (!DEFINITION_FIELDS.has(key)) throw invalidArgument(key, 'is not a task definition field');
  }
  const name = value.name;
  if (!isTypeName(name)) {
    throw invalidArgument('name', `must match ${TYPE_NAME_RE.source} and be at most ${MAX_TYPE_NAME_LENGTH} characters, got ${describe(name)}`);
  }
  if (value.description !== undefined && typeof value.description !== 'string') {
    throw invalidArgument('description', `must be a string, got ${describe(value.description)}`);
  }
  if (typeof value.run !== 'function') throw invalidArgument('run', `must be a function, got ${describe(value.run)}`);
  const { schema, validate } = compiler.compile(value.params, file);
  return Object.freeze({
    name,
    description: value.description,
    file,
    paramsSchema: schema,
    timeoutMs: timeoutOption(value.timeout),
    maxTries: maxTriesOption(value.maxTries),
    retry: retryOption(value.retry),
    concurrency: concurrencyOption(value.concurrency),
    priority: priorityOption(value.priority),
    maxQueued: maxQueuedOption(value.maxQueued),
    isolation: isolationOption(value.isolation),
    retentionMs: retentionOption(value.retention),
    validateParams: validate === undefined ? acceptAny : (params: unknown) => check(validate, params === undefined ? {} : params),
  });
}

function acceptAny(): void {}

/**
 * One Ajv instance per registry, shared by its types: schemas may `$ref` each other by `$id`, and
 * a fresh registry (a restart in the same process) never collides with the `$id`s of an old one.
 * Strict mode is off: schemas written for other tools carry keywords Ajv does not know (`x-*`,
 * `example`), and those must not make a type unavailable. Ajv's warnings about what it ignores
 * (a format that is not a standard one, say) are logged once each with the module's file name.
 * The standard formats (`email`, `date-time`, `uri`, …) are checked, with ajv-formats.
 */
class SchemaCompiler {
  readonly #ajv: Ajv;
  readonly #warnings: string[] = [];
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
    const collect = (...args: unknown[]): void => { this.#warnings.push(args.map(String).join(' ')); };
    this.#ajv = new Ajv({ allErrors: true, strict: false, logger: { log: collect, warn: collect, error: collect } });
    // ajv-formats is CommonJS: its default import is module.exports, which holds the plugin as `default`.
    ajvFormats.default(this.#ajv);
  }

  compile(params: unknown, file: string): { schema: unknown; validate: ValidateFunction | undefined } {
    if (params === undefined) return { schema: undefined, validate: undefined };
    if (typeof params !== 'boolean' && !isRecord(params)) {
      throw invalidArgument('params', `must be a JSON Schema (an object or a boolean), got ${describe(params)}`);
    }
    try {
      // A private frozen copy: the module cannot change the schema after it was compiled, and
      // what type.list shows is what params are checked against.
      const schema = deepFreeze(structuredClone(params));
      const validate = this.#ajv.compile(schema);
      return { schema, validate };
    } catch (err) {
      throw invalidArgument('params', `is not a valid JSON Schema: ${(err as Error).message}`);
    } finally {
      // Ajv gives some warnings twice for one schema (an unknown format did): log each once.
      for (const w of new Set(this.#warnings.splice(0))) this.#logger.warn({ file }, `params schema: ${w}`);
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Params are the client's data: they are only read here, never merged into another object.
 * A path points at the failing value (JSON Pointer, '/' for the root); for a missing or an
 * unexpected property it points at that property rather than at the object holding it. Each
 * reason is Ajv's, said of that path: `/to must be string`, `/subject is required`.
 */
function check(validate: ValidateFunction, params: unknown): void {
  if (validate(params)) return;
  const failures = (validate.errors ?? []).map((e) => ({ path: errorPath(e), reason: errorReason(e) }));
  const reasons = [...new Map(failures.map((f) => [`${f.path} ${f.reason}`, f])).values()];
  const paths = [...new Set(reasons.map((r) => r.path))].slice(0, MAX_REPORTED_PATHS);
  const listed = reasons.slice(0, PATHS_IN_MESSAGE).map((r) => `${r.path} ${r.reason}`).join(', ');
  const more = reasons.length > PATHS_IN_MESSAGE ? ` and ${reasons.length - PATHS_IN_MESSAGE} more` : '';
  throw new SpindleError('INVALID_PARAMS', `params do not match the type's schema: ${listed}${more}; see the type's params schema (spindle types -v)`, {
    paths,
    reasons: reasons.slice(0, MAX_REPORTED_PATHS),
  });
}

function errorPath(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  const property = p.missingProperty ?? p.additionalProperty ?? p.unevaluatedProperty;
  const path = typeof property === 'string' ? `${e.instancePath}/${property.replace(/~/g, '~0').replace(/\//g, '~1')}` : e.instancePath;
  return path === '' ? '/' : path;
}

/** Ajv's message, reworded where the path already names the property it is about. */
function errorReason(e: ErrorObject): string {
  if (e.keyword === 'required' || e.keyword === 'dependentRequired' || e.keyword === 'dependencies') return 'is required';
  if (e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties') return 'is not allowed';
  return e.message ?? `fails ${e.keyword}`;
}
