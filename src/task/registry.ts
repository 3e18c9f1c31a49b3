import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { tsImport } from 'tsx/esm/api';
import { describe } from '../duration.js';
import type { ErrorCode } from '../errors.js';
import { invalidArgument, isSpindleError, SpindleError } from '../errors.js';
import { SchemaCompiler } from './params-schema.js';
import type { Isolation, RetryPolicy } from './task-options.js';
import {
  concurrencyOption, isolationOption, maxQueuedOption, maxTriesOption, priorityOption, retentionOption,
  retryOption, timeoutOption,
} from './task-options.js';

/** A loaded task type: its module's definition, validated and resolved with defaults. Frozen. */
export interface TaskType {
  readonly name: string;
  readonly description: string | undefined;
  /**
   * Absolute real path of the module a worker imports to run it: a tasks-folder file (verified to
   * lie inside the folder), a module file given in code, or a code definition's `module`.
   */
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

/**
 * Where types come from: a tasks folder; a path that is a folder or one module file; or a
 * definition given in code with the path of the module that exports it (`module:
 * import.meta.url`). `field` names the source in errors (`tasks[2]`).
 */
export type TaskSource =
  | { readonly kind: 'folder' | 'path'; readonly path: string; readonly field: string }
  | { readonly kind: 'definition'; readonly definition: object; readonly module: string; readonly field: string };

export interface LoadRegistryOptions {
  /** A tasks folder, loaded before `sources` (the same as a `folder` source first). */
  tasksDir?: string;
  sources?: readonly TaskSource[];
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
  'isolation', 'retention', 'run', 'module',
]);

export function isTypeName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= MAX_TYPE_NAME_LENGTH && TYPE_NAME_RE.test(name);
}

/**
 * Loads the types of a tasks folder and of the sources given in code, in that order. A type name
 * defined twice is refused the second time (logged for a folder's module, thrown for code).
 */
export async function loadRegistry({ tasksDir, sources = [], logger }: LoadRegistryOptions): Promise<Registry> {
  const loading: Loading = { types: new Map(), problems: [], compiler: new SchemaCompiler(logger), logger };
  const all: TaskSource[] = [...(tasksDir === undefined ? [] : [{ kind: 'folder' as const, path: tasksDir, field: 'tasks' }]), ...sources];
  for (const source of all) {
    if (source.kind === 'definition') await loadDefinition(source, loading);
    else if (source.kind === 'folder' || await isDirectory(source.path)) await loadFolder(source.path, loading);
    else await loadFile(source.path, source.field, loading);
  }
  return Object.freeze({ types: loading.types, problems: Object.freeze(loading.problems) });
}

interface Loading {
  readonly types: Map<string, TaskType>;
  readonly problems: TaskModuleProblem[];
  readonly compiler: SchemaCompiler;
  readonly logger: Logger;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    // Missing: loadFolder says so, as TASKS_DIR_INVALID naming the path.
    return !extname(path);
  }
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
async function loadFolder(tasksDir: string, { types, problems, compiler, logger }: Loading): Promise<void> {
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

  const report = (file: string, code: ErrorCode, message: string, err?: unknown): void => {
    problems.push(Object.freeze({ file, code, message }));
    logger.error({ file, code, ...(err === undefined ? {} : { err }) }, `task module ${file} not loaded: ${message}`);
  };

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
}

/**
 * One module file given in code, loaded as a folder's module would be; what a folder would log
 * and skip is thrown here, since the application asked for this very module.
 */
async function loadFile(path: string, field: string, { types, compiler }: Loading): Promise<void> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (err) {
    throw new SpindleError('INVALID_OPTION', `${field}: ${path} cannot be read (${(err as Error).message}); name a tasks folder or a module file`, { field, path }, err);
  }
  let exported: unknown;
  try {
    exported = await importModule(real);
  } catch (err) {
    throw new SpindleError('HANDLER_LOAD_FAILED', `${field}: task module ${real} failed to import: ${(err as Error)?.message ?? String(err)}`, { field, path: real }, err);
  }
  addType(types, resolveOrThrow(exported, real, field, compiler), field);
}

/**
 * A definition given in code. Its handler runs in a worker, which imports `module` and takes the
 * export of that name; the module is imported here first so that one that does not export it
 * fails the start rather than every run.
 */
async function loadDefinition({ definition, module, field }: Extract<TaskSource, { kind: 'definition' }>, { types, compiler }: Loading): Promise<void> {
  const type = resolveOrThrow(definition, module, field, compiler);
  let real: string;
  let namespace: Record<string, unknown>;
  try {
    real = await realpath(module);
    namespace = await importNamespace(real);
  } catch (err) {
    throw new SpindleError('HANDLER_LOAD_FAILED', `${field}.module: ${module}, the module of task type "${type.name}", failed to import: ${(err as Error)?.message ?? String(err)}`, { field: `${field}.module`, path: module }, err);
  }
  const exported = Object.values(namespace).map(unwrapDefault);
  if (!exported.some((e) => isRecord(e) && e.name === type.name && typeof e.run === 'function')) {
    throw new SpindleError('INVALID_OPTION', `${field}.module: ${real} exports no task definition named "${type.name}"; export it from the module named by \`module\` (a worker imports that module and finds the definition by its name)`, { field: `${field}.module`, path: real });
  }
  addType(types, Object.freeze({ ...type, file: real }), field);
}

function resolveOrThrow(value: unknown, file: string, field: string, compiler: SchemaCompiler): TaskType {
  try {
    return resolveDefinition(value, file, compiler);
  } catch (err) {
    const code = isSpindleError(err) ? err.code : 'INVALID_ARGUMENT';
    const option = code === 'INVALID_ARGUMENT' ? 'INVALID_OPTION' : code;
    const at = isSpindleError(err) && typeof err.details.field === 'string' ? `${field}.${err.details.field}` : field;
    throw new SpindleError(option, `${field}: invalid task definition (${file}): ${(err as Error)?.message ?? String(err)}`, { field: at, path: file });
  }
}

function addType(types: Map<string, TaskType>, type: TaskType, field: string): void {
  const first = types.get(type.name);
  if (first !== undefined) {
    throw new SpindleError('INVALID_OPTION', `${field}: type name "${type.name}" is already defined by ${first.file}; rename one of them`, { field });
  }
  types.set(type.name, type);
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
  return unwrapDefault((await importNamespace(file)).default);
}

async function importNamespace(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  return (file.endsWith('.ts') ? await tsImport(url, import.meta.url) : await import(url)) as Record<string, unknown>;
}

/**
 * A module compiled to CommonJS (e.g. a .ts file outside a "type": "module" package) exposes
 * its `export default` one level down, marked the Babel/esbuild way.
 */
function unwrapDefault(exported: unknown): unknown {
  return isRecord(exported) && exported.__esModule === true ? exported.default : exported;
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
  if (value.module !== undefined && typeof value.module !== 'string' && !(value.module instanceof URL)) {
    throw invalidArgument('module', `must be the module's URL (import.meta.url), got ${describe(value.module)}`);
  }
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
    validateParams: validate ?? acceptAny,
  });
}

function acceptAny(): void {}
