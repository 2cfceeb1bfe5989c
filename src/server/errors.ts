import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { RateLimitedError } from '../environ/index.js';
import { statusOf } from '../service/index.js';

/** The codes of fastify's own refusals (bad content type, body too large, bad JSON), by status. */
const FASTIFY_CODES: Record<number, string> = { 400: 'bad_request', 404: 'not_found', 405: 'method_not_allowed', 413: 'too_large', 415: 'unsupported_media_type' };

/** Every error answer of the API: `{error: CODE, message}` with its status (service/status.ts). */
export function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ error: code, message });
}

/**
 * Errors as JSON with the right status: a SluiceError by its class, fastify's own refusals by
 * theirs, anything else a 500 that is logged (with its stack) and told as "internal error".
 */
export function jsonErrors(app: FastifyInstance, onInternal?: (err: unknown) => void): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const mapped = statusOf(err);
    if (mapped.status !== 500) {
      if (err instanceof RateLimitedError) reply.header('retry-after', String(err.retryAfterS));
      if (mapped.status === 503) onInternal?.(err);
      return sendError(reply, mapped.status, mapped.code, err.message);
    }
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status < 500) return sendError(reply, status, FASTIFY_CODES[status] ?? 'bad_request', fastifyMessage(err));
    request.log.error(err);
    onInternal?.(err);
    return sendError(reply, 500, 'internal', `internal error: ${err.message}`);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'not_found', `no such endpoint: ${request.method} ${request.url.split('?')[0]}`));
}

function fastifyMessage(err: FastifyError): string {
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'the body must be JSON (Content-Type: application/json)';
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return `the body is larger than the server takes (SLUICE_MAX_BODY)`;
  return err.message;
}
