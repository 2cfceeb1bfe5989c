import {
  ConflictError, ForbiddenError, NotFoundError, RateLimitedError, SluiceError, TimeoutError, TooLargeError, UnauthorizedError, UnavailableError, UsageError, EXIT,
} from '../environ/index.js';
import { StoreError } from '../store/index.js';

/**
 * The one mapping between Sluice's error classes and HTTP: the server answers an error with its
 * status and `{error: CODE, message}`, and the remote client turns that back into the same class,
 * so that a program (and the CLI's exit codes) cannot tell a remote service from a local one.
 */
const BY_STATUS: Record<number, { code: string; make: (message: string) => SluiceError }> = {
  400: { code: 'bad_request', make: (m) => new UsageError(m) },
  401: { code: 'unauthorized', make: (m) => new UnauthorizedError(m) },
  403: { code: 'forbidden', make: (m) => new ForbiddenError(m) },
  404: { code: 'not_found', make: (m) => new NotFoundError(m) },
  408: { code: 'timeout', make: (m) => new TimeoutError(m) },
  409: { code: 'conflict', make: (m) => new ConflictError(m) },
  413: { code: 'too_large', make: (m) => new TooLargeError(m) },
  415: { code: 'unsupported_media_type', make: (m) => new UsageError(m) },
  429: { code: 'rate_limited', make: (m) => new RateLimitedError(m) },
  503: { code: 'unavailable', make: (m) => new UnavailableError(m) },
};

/** The HTTP status and code an error is answered with. */
export function statusOf(err: unknown): { status: number; code: string } {
  const status =
    err instanceof UnauthorizedError ? 401
    : err instanceof ForbiddenError ? 403
    : err instanceof NotFoundError ? 404
    : err instanceof TimeoutError ? 408
    : err instanceof ConflictError ? 409
    : err instanceof TooLargeError ? 413
    : err instanceof RateLimitedError ? 429
    : err instanceof UsageError ? 400
    : err instanceof StoreError || err instanceof UnavailableError ? 503
    : 500;
  return { status, code: BY_STATUS[status]?.code ?? 'internal' };
}

/** The error a client raises for an error answer (any status the table does not know is trouble on the server: exit 70). */
export function errorOf(status: number, message: string): SluiceError {
  return BY_STATUS[status]?.make(message) ?? new SluiceError(message, EXIT.INTERNAL);
}
