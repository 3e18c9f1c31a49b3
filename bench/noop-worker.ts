/** The raw piscina baseline's worker: the same no-op as bench/tasks/noop.mjs. */
export default function noop(): void {}
