// Typed errors with stable codes. The API maps them to {error:{code,message,details?}};
// the worker maps them to a job's error and decides whether a retry can help.

export type ErrorDetails = Record<string, unknown> | unknown[];

export class AppError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly details?: ErrorDetails;
  /** A retry cannot succeed where the input itself is wrong. */
  readonly retryable: boolean;

  constructor(code: string, message: string, statusCode: number, details?: ErrorDetails, retryable = false) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.statusCode = statusCode;
    this.details = details;
    this.retryable = retryable;
  }
}

export class BadRequestError extends AppError {
  constructor(code: string, message: string, details?: ErrorDetails) {
    super(code, message, 400, details);
  }
}

/** No key, or one that is unknown or revoked. */
export class UnauthorizedError extends AppError {
  constructor(code: string, message: string) {
    super(code, message, 401);
  }
}

/** A valid key that may not do this (a tenant key on an admin route, or the reverse). */
export class ForbiddenError extends AppError {
  constructor(code: string, message: string) {
    super(code, message, 403);
  }
}

/** A limit on how much or how often; the client may retry after `retryAfterSeconds`. */
export class TooManyRequestsError extends AppError {
  constructor(
    code: string,
    message: string,
    readonly retryAfterSeconds: number,
    details?: ErrorDetails,
  ) {
    super(code, message, 429, details);
  }
}

export class NotFoundError extends AppError {
  constructor(resource: string, id: string) {
    super(`${resource}_not_found`, `${resource} ${id} does not exist`, 404, { id });
  }
}

export class ConflictError extends AppError {
  constructor(code: string, message: string, details?: ErrorDetails) {
    super(code, message, 409, details);
  }
}

/** The request is well-formed but cannot be carried out (a spec that can't be built). */
export class UnprocessableError extends AppError {
  constructor(code: string, message: string, details?: ErrorDetails) {
    super(code, message, 422, details);
  }
}

/** A dependency (S3, Postgres, Redis) failed; worth retrying. */
export class TransientError extends AppError {
  constructor(code: string, message: string, details?: ErrorDetails) {
    super(code, message, 503, details, true);
  }
}

/**
 * Over a configured size limit. `setting` names the variable that raises it, so
 * the client (and the operator) can tell which limit was hit.
 */
export class LimitExceededError extends AppError {
  constructor(code: string, message: string, statusCode: 400 | 413 | 422, setting: string, limit: number, actual: number) {
    super(code, `${message} (limit ${limit}, ${setting})`, statusCode, { setting, limit, actual });
  }
}
