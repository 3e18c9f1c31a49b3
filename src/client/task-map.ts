/** What a typed Client knows of each task type, by name. */
export type TaskTypes = Record<string, { params: unknown; output: unknown }>;

/**
 * The TaskTypes of task definitions, given as a union (or an array type) of definitions or of
 * modules whose default export is one: `TaskMap<typeof import('./tasks/email.js')>`. Only types
 * are read, so a client program naming its task modules this way never loads them. A definition
 * whose name TypeScript only knows as `string` (a plain object not made by defineTask) is left
 * out: a map with it would accept any name.
 */
export type TaskMap<T> = {
  [D in DefinitionIn<T> as D extends DefinitionShape<never, unknown, infer N> ? (string extends N ? never : N) : never]:
    D extends DefinitionShape<infer P, infer O, string> ? { params: P; output: Awaited<O> } : never;
};

/**
 * What a task map reads of a task definition (src/task/define-task.ts): its name, and what its run
 * takes and returns. Written out here because the client imports nothing of the runtime's side.
 */
interface DefinitionShape<P, O, N extends string> {
  name: N;
  run(params: P, ...rest: never[]): O;
}

type DefinitionIn<T> = T extends readonly unknown[] ? DefinitionIn<T[number]> : T extends { default: infer D } ? D : T;

/** A client with no task map (its Tasks has an index signature) takes every name and any params. */
export type IsUntyped<Tasks extends TaskTypes> = string extends keyof Tasks ? true : false;

/** The type names a client accepts. */
export type TypeName<Tasks extends TaskTypes> = IsUntyped<Tasks> extends true ? string : keyof Tasks & string;

/** Params may be left out where the schema accepts `{}` (what a submit without params is checked as). */
export type ParamsField<P> = {} extends P ? { params?: P } : { params: P };
