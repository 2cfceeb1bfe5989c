import type { FastifyInstance } from 'fastify';
import { UsageError } from '../environ/index.js';

/** Deeper JSON than this is refused: a record that deep could not be written back (JSON.stringify recurses). */
export const MAX_DEPTH = 256;

/**
 * The API reads JSON bodies only, as bytes: invalid UTF-8 is refused (it is never turned into
 * U+FFFD silently), then the text is parsed and its nesting bounded. Any other content type is
 * 415 (fastify's own answer, which the error handler words), a body over the limit 413.
 */
export function jsonBodies(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(/^application\/(json|[\w.+-]*\+json)(;|$)/, { parseAs: 'buffer', bodyLimit }, (_request, body: Buffer | string, done) => {
    try {
      done(null, parseJson(Buffer.isBuffer(body) ? body : Buffer.from(body)));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

export function parseJson(bytes: Buffer): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new UsageError('the body is not valid UTF-8');
  }
  if (!text.trim()) throw new UsageError('the body is empty; send JSON');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the body is not JSON: ${(err as Error).message}`);
  }
  checkDepth(value);
  return value;
}

/** Walks the value without recursion (the point is to refuse what recursion could not handle). */
function checkDepth(value: unknown): void {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > MAX_DEPTH) throw new UsageError(`the body nests deeper than ${MAX_DEPTH} levels`);
    for (const child of Array.isArray(node) ? node : Object.values(node)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
}
