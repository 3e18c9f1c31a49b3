import { SpindleError } from '../errors.js';
import { PAUSED_KEPT, STORE_LAYOUT, STORE_LAYOUT_READ } from './keys.js';

/** The store's meta record (META_KEY): its layout, when it was made, what it keeps. */
export type StoreMeta = Record<string, unknown>;

/**
 * The meta record the store opens with, from the one it holds (undefined: a new store), and
 * whether it must be written before anything else: a new store's, or an earlier layout's taken
 * up to this one (so that an older version refuses the store from then on). A layout this version
 * does not read is refused.
 */
export function metaAtOpen(text: string | undefined, path: string): { meta: StoreMeta; write: boolean } {
  if (text === undefined) return { meta: { layout: STORE_LAYOUT, createdAt: new Date().toISOString(), [PAUSED_KEPT]: true }, write: true };
  const meta = parseMeta(text) ?? {};
  if (meta.layout === STORE_LAYOUT) return { meta, write: false };
  if (meta.layout === STORE_LAYOUT_READ) return { meta: { ...meta, layout: STORE_LAYOUT }, write: true };
  throw new SpindleError('STORE_INVALID', `the store at ${path} has layout ${String(meta.layout)}, this version reads ${STORE_LAYOUT_READ} and ${STORE_LAYOUT}`, { path });
}

/** The meta record, or null when it does not read (the open refuses it: no layout it reads). */
export function parseMeta(text: string): StoreMeta | null {
  try {
    return JSON.parse(text) as StoreMeta;
  } catch {
    return null;
  }
}
