import { EXIT, NotFoundError, SluiceError, UsageError } from '../environ/index.js';

/** A write that would turn a file into a folder or the other way round (`/a` is a file, `/a/b` is written). */
export class ConflictError extends SluiceError {
  constructor(message: string) {
    super(message, EXIT.USAGE);
  }
}

/** The file store answered with an error that is neither "bad request" nor "not found". */
export class RemoteError extends SluiceError {
  constructor(message: string, readonly status: number) {
    super(message, EXIT.INTERNAL);
  }
}

/** The HTTP status for an error thrown by the storage or the routes; with a short reason. */
export function statusOf(err: unknown): { status: number; reason: string } {
  const e = err as NodeJS.ErrnoException & { statusCode?: number };
  if (err instanceof UsageError) return { status: 400, reason: e.message };
  if (err instanceof NotFoundError) return { status: 404, reason: e.message };
  if (err instanceof ConflictError) return { status: 409, reason: e.message };
  if (e?.code === 'ENOSPC' || e?.code === 'EDQUOT') return { status: 507, reason: 'the file store is out of disk space' };
  if (typeof e?.code === 'string' && e.code.startsWith('Z_')) return { status: 400, reason: `the body is not valid gzip (${e.code})` };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return { status: e.statusCode, reason: e.message };
  return { status: 500, reason: `internal error: ${e?.message ?? String(err)}` };
}
