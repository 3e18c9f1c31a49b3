import { fileURLToPath } from 'node:url';

/** Where a worker entry point lives, and the Node flags it needs to load. */
export interface WorkerEntry {
  /** Absolute path of the entry module. */
  filename: string;
  /** Flags for the worker's Node; absent means inherit the parent's. */
  execArgv?: string[];
}

/**
 * Locates `workers/<name>` relative to this module. Compiled, this module is
 * dist/src/executor/worker-entry.js and the entry dist/workers/<name>.js. Run from source (vitest,
 * tsx), this module is src/executor/worker-entry.ts and the entry workers/<name>.ts, which a fresh
 * thread or process can only load with tsx's loader.
 */
export function resolveWorkerEntry(name: string): WorkerEntry {
  const moduleUrl = import.meta.url;
  if (moduleUrl.endsWith('.ts')) {
    return { filename: fileURLToPath(new URL(`../../workers/${name}.ts`, moduleUrl)), execArgv: ['--import', 'tsx'] };
  }
  return { filename: fileURLToPath(new URL(`../../workers/${name}.js`, moduleUrl)) };
}
