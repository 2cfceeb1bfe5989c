/**
 * Errors that carry a clear message and an exit code for the CLI (documented in docs/cli.md).
 * They live at the bottom layer so that every layer can throw them.
 */
export const EXIT = {
  OK: 0,
  /** The job ran and failed (or was aborted), or `wait` saw a job end unsuccessfully. */
  JOB_FAILED: 1,
  /** Bad arguments or bad input (not JSON, missing option, unknown option). */
  USAGE: 2,
  /** An id or a name that does not exist. */
  NOT_FOUND: 3,
  /** A wait ran out of time. */
  TIMEOUT: 4,
  /** Something in the system is wrong (database, permissions, a bug). */
  INTERNAL: 70,
} as const;

export class SluiceError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.INTERNAL) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input from a person or a program: a clear one-line reason. */
export class UsageError extends SluiceError {
  constructor(message: string) {
    super(message, EXIT.USAGE);
  }
}

/** A request that contradicts the state of things (a message to a job that has ended, a user that exists): HTTP 409, exit 2. */
export class ConflictError extends SluiceError {
  constructor(message: string) {
    super(message, EXIT.USAGE);
  }
}

export class NotFoundError extends SluiceError {
  constructor(message: string) {
    super(message, EXIT.NOT_FOUND);
  }
}

export class TimeoutError extends SluiceError {
  constructor(message: string) {
    super(message, EXIT.TIMEOUT);
  }
}

/** Thrown inside a job when its signal fires. */
export class AbortedError extends SluiceError {
  constructor(message = 'the job was aborted') {
    super(message, EXIT.JOB_FAILED);
  }
}

/** A request without valid credentials (HTTP 401; exit 2: the user gives another token). */
export class UnauthorizedError extends SluiceError {
  constructor(message: string) {
    super(message, EXIT.USAGE);
  }
}

/** An authenticated user asking for what their role does not allow (HTTP 403; exit 2). */
export class ForbiddenError extends SluiceError {
  constructor(message: string) {
    super(message, EXIT.USAGE);
  }
}

/** A request larger than a limit allows (HTTP 413; exit 2). */
export class TooLargeError extends UsageError {}

/** Too many requests of a kind (failed logins, open streams): HTTP 429; exit 70, try again later. */
export class RateLimitedError extends SluiceError {
  constructor(message: string, readonly retryAfterS = 60) {
    super(message, EXIT.INTERNAL);
  }
}

/** The service cannot answer now (a server that is stopping, a store that is away): HTTP 503; exit 70, try again. */
export class UnavailableError extends SluiceError {
  constructor(message: string) {
    super(message, EXIT.INTERNAL);
  }
}
