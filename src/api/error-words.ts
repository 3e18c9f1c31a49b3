import type { RunError } from './views.js';

/** Words of one error kept in the search index at most: a long message is indexed by its start. */
export const MAX_ERROR_WORDS = 24;
const MIN_WORD = 2;
const MAX_WORD = 40;

/**
 * The words a text is searched by: lower-cased runs of letters, digits and `_`, 2 to 40
 * characters (`HANDLER_ERROR`, `ECONNREFUSED`, `timeout`), in order, each once.
 */
export function wordsOf(text: string, max = Number.POSITIVE_INFINITY): string[] {
  const out = new Set<string>();
  for (const w of text.toLowerCase().split(/[^\p{L}\p{N}_]+/u)) {
    if (w.length < MIN_WORD || w.length > MAX_WORD) continue;
    out.add(w);
    if (out.size >= max) break;
  }
  return [...out];
}

/** An error's words: its code, the handler's own code, its name, then its message. */
export function errorWords(error: RunError): string[] {
  return wordsOf([error.code, error.handlerCode ?? '', error.name ?? '', error.message].join(' '), MAX_ERROR_WORDS);
}
