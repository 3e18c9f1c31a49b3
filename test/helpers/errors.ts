import { SpindleError } from '../../src/errors.js';

/** The SpindleError a synchronous call throws (fails the test if it throws nothing or something else). */
export function errorOf(fn: () => unknown): SpindleError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SpindleError) return err;
    throw err;
  }
  throw new Error('expected a SpindleError, nothing was thrown');
}
