import { invalidArgument } from '../errors.js';

/**
 * Refuses a string with an unpaired surrogate. Such strings cannot be encoded as UTF-8: the store
 * writes U+FFFD in their place, so "\ud800" and "\ud801" would name one store key (two live tasks
 * could then share one idempotency key). Every client string that becomes a store key or an index
 * range — keys, type names, task ids — passes through here first.
 */
export function wellFormed(value: string, field: string): string {
  if (!value.isWellFormed()) {
    throw invalidArgument(field, 'contains an unpaired UTF-16 surrogate, which UTF-8 cannot hold; send well-formed Unicode text');
  }
  return value;
}
