import type { IncomingMessage } from 'node:http';
import { SpindleError } from '../errors.js';

/**
 * A request's JSON body, at most `limit` bytes (the socket's frame cap): a declared length over it
 * is refused before a byte is read, a stream that runs past it as soon as it does, so nothing past
 * the cap is held. An empty body is `undefined`. Errors: BODY_TOO_LARGE, BAD_REQUEST (not JSON).
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks, size).toString('utf8')) as unknown;
  } catch {
    throw new SpindleError('BAD_REQUEST', 'the request body is not JSON', { field: 'body' });
  }
}

function tooLarge(limit: number): SpindleError {
  return new SpindleError('BODY_TOO_LARGE', `the request body is over ${limit} bytes; send fewer tasks per request`, { limit });
}
