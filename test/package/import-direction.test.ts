import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Imports run one way (README, Layout): src/api is the leaf every side shares; the CLI and the
 * client stand on it alone, so they never reach into the runtime's internals; the servers serve
 * the runtime through its interface (RuntimeApi), not the class that builds them. Read from the
 * real source files with TypeScript's own parser, so type-only and dynamic imports count too.
 */

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

interface Import {
  /** The importing file, relative to src/ (e.g. `cli/main.ts`). */
  file: string;
  /** A file relative to src/ for a relative specifier; the specifier itself for a package. */
  target: string;
  typeOnly: boolean;
  dynamic: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

function importsOf(path: string): Import[] {
  const file = relative(SRC, path);
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true);
  const found: Import[] = [];
  const add = (specifier: ts.Expression | undefined, typeOnly: boolean, dynamic: boolean): void => {
    if (specifier === undefined || !ts.isStringLiteral(specifier)) return;
    const spec = specifier.text;
    const target = spec.startsWith('.') ? relative(SRC, resolve(dirname(path), spec.replace(/\.js$/, '.ts'))) : spec;
    found.push({ file, target, typeOnly, dynamic });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const allTypes = clause !== undefined && (clause.isTypeOnly || (clause.name === undefined && clause.namedBindings !== undefined
        && ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier, allTypes, false);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly, false);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false, true);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal as ts.Expression, true, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const IMPORTS = sourceFiles(SRC).flatMap(importsOf);
const OWN = IMPORTS.filter((i) => i.target.endsWith('.ts'));
const under = (folder: string) => (i: Import): boolean => i.file.startsWith(`${folder}/`);
const show = (i: Import): string => `${i.file} → ${i.target}${i.dynamic ? ' (dynamic)' : ''}${i.typeOnly ? ' (type)' : ''}`;

/**
 * Modules at src/'s root that anything may import: each imports nothing of src but another of
 * them. duration.ts is here because the CLI parses `--grace 30s` as the runtime parses its options;
 * store-spec.ts because the CLI refuses a bad `--store` before it loads anything.
 */
const ROOT_LEAVES = new Set(['errors.ts', 'duration.ts', 'store-spec.ts']);

/** The commands that run the runtime themselves load it (and only it) lazily: `start`, `repair`. */
const LAZY = new Map([
  ['cli/start-command.ts', new Set(['runtime/runtime.ts', 'http/http-options.ts'])],
  ['cli/runtime-commands.ts', new Set(['runtime/open-store.ts'])],
]);
/** `start` builds the runtime's options: their types only (erased; nothing is loaded for them). */
const TYPES_FROM = new Map([['cli/start-command.ts', new Set(['runtime/runtime-options.ts'])]]);

describe('import direction', () => {
  it('reads real imports: every relative one names a file that exists, and the lazy ones are seen', () => {
    expect(OWN.length).toBeGreaterThan(200);
    expect(OWN.filter((i) => !existsSync(join(SRC, i.target))).map(show)).toEqual([]);
    expect(OWN.filter((i) => i.dynamic).map(show)).toEqual(expect.arrayContaining(['cli/start-command.ts → runtime/runtime.ts (dynamic)']));
    expect(OWN.filter((i) => i.typeOnly).map(show)).toEqual(expect.arrayContaining(['ipc/server.ts → api/runtime-api.ts (type)']));
  });

  it('src/api is a leaf: it imports only src/api, src/errors.ts and node built-ins', () => {
    const api = IMPORTS.filter(under('api'));
    expect(api.length).toBeGreaterThan(0);
    const outside = api.filter((i) => (i.target.endsWith('.ts') ? !i.target.startsWith('api/') && i.target !== 'errors.ts' : !i.target.startsWith('node:')));
    expect(outside.map(show)).toEqual([]);
  });

  it('the root leaves import only each other', () => {
    const leaves = OWN.filter((i) => ROOT_LEAVES.has(i.file));
    expect(leaves.filter((i) => !ROOT_LEAVES.has(i.target)).map(show)).toEqual([]);
  });

  it('src/cli and src/client import only src/api, src/client, the root leaves (and the CLI itself); start and repair load the runtime lazily', () => {
    const sides = OWN.filter((i) => under('cli')(i) || under('client')(i));
    expect(sides.length).toBeGreaterThan(0);
    const allowed = (i: Import): boolean => i.target.startsWith('api/') || i.target.startsWith('client/') || ROOT_LEAVES.has(i.target)
      || (i.file.startsWith('cli/') && i.target.startsWith('cli/'))
      || (i.dynamic && LAZY.get(i.file)?.has(i.target) === true)
      || (i.typeOnly && !i.dynamic && TYPES_FROM.get(i.file)?.has(i.target) === true);
    expect(sides.filter((i) => !allowed(i)).map(show)).toEqual([]);
  });

  it('src/client loads no package: node built-ins only', () => {
    const packages = IMPORTS.filter((i) => under('client')(i) && !i.target.endsWith('.ts') && !i.target.startsWith('node:'));
    expect(packages.map(show)).toEqual([]);
  });

  it('src/ipc and src/http serve a RuntimeApi: they import nothing of src/runtime', () => {
    const servers = OWN.filter((i) => under('ipc')(i) || under('http')(i));
    expect(servers.some((i) => i.target === 'api/runtime-api.ts')).toBe(true);
    expect(servers.filter((i) => i.target.startsWith('runtime/')).map(show)).toEqual([]);
  });

  it('the store never reaches up: it imports nothing of the supervisor, the runtime or the servers', () => {
    const store = OWN.filter(under('store'));
    expect(store.some((i) => i.target === 'store/task-source.ts')).toBe(true);
    expect(store.filter((i) => /^(supervisor|runtime|ipc|http|cli|client)\//.test(i.target)).map(show)).toEqual([]);
  });

  it('the supervisor talks to a store only through the task source: no LevelDB source or store, nothing of the runtime', () => {
    const supervisor = OWN.filter(under('supervisor'));
    expect(supervisor.some((i) => i.target === 'store/task-source.ts')).toBe(true);
    expect(supervisor.filter((i) => (i.target.startsWith('store/') && i.target !== 'store/task-source.ts') || /^(runtime|ipc|http|cli|client)\//.test(i.target)).map(show)).toEqual([]);
  });

  it('the dashboard page imports only src/api and itself', () => {
    const page = OWN.filter(under('dashboard'));
    expect(page.some((i) => i.target.startsWith('api/'))).toBe(true);
    expect(page.filter((i) => !i.target.startsWith('api/') && !i.target.startsWith('dashboard/')).map(show)).toEqual([]);
  });
});
