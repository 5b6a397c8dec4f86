// Typed errors with stable codes. The API maps them to {error:{code,message,details?}};
// the worker maps them to a job's error and decides whether a retry can help.

/**
 * Every code the service gives, API responses and jobs' `error` alike. An error can only be made
 * with one of these (the compiler checks), and the catalogue (apps/api/src/schemas/errors.ts)
 * must document each, so a new code is added here and documented there, or it does not build.
 */
export const ERROR_CODE_LIST = [
  // The request itself
  'validation_failed', 'invalid_json', 'empty_body', 'invalid_content_length', 'bad_request', 'malformed_request',
  'invalid_url', 'path_param_too_long', 'headers_too_large', 'request_timeout', 'body_too_large', 'unsupported_media_type',
  'invalid_cursor', 'page_size_exceeded', 'route_not_found',
  // Keys and limits
  'unauthorized', 'invalid_api_key', 'tenant_key_required', 'admin_only', 'rate_limited', 'too_many_queued_jobs',
  'too_many_dataset_registrations',
  // Idempotency-Key (POST routes)
  'invalid_idempotency_key', 'idempotency_key_in_flight', 'idempotency_key_reused',
  // Resources
  'dataset_not_found', 'model_not_found', 'job_not_found', 'advice_not_found', 'sweep_not_found', 'checkpoint_not_found', 'tenant_not_found', 'api_key_not_found',
  'object_not_found', 'job_not_cancellable', 'job_not_pausable', 'job_not_paused', 'job_not_retryable', 'model_in_use', 'sweep_not_cancellable',
  'sweep_trial_not_retryable',
  // Sources in S3
  'invalid_s3_uri', 's3_access_denied', 'source_bucket_not_allowed', 'source_key_not_allowed', 'object_too_large',
  'dataset_invalid', 'dataset_empty', 'model_invalid', 'model_too_large', 'model_too_many_layers', 'job_too_large',
  'dataset_too_many_rows', 'dataset_too_many_features', 'dataset_too_many_classes', 'summary_invalid', 'invalid_text', 'model_unsupported',
  'image_invalid', 'image_too_large', 'dataset_class_too_small', 'dataset_not_ready', 'dataset_not_validating',
  // Job specs
  'base_model_required', 'architecture_required', 'invalid_spec', 'dataset_single_class', 'input_shape_mismatch',
  'label_mismatch', 'cut_layer_not_found', 'layer_not_buildable', 'class_count_mismatch', 'invalid_freeze', 'outbound_url_not_allowed',
  'graph_base_frozen', 'strategy_conflict',
  // Sweep requests
  'invalid_sweep_space', 'invalid_sweep_objective', 'sweep_too_large',
  // Races that a database constraint caught
  'invalid_id', 'not_found', 'conflict', 'reference_not_found',
  // The server and what it depends on
  'internal_error', 'stored_record_invalid', 'storage_unavailable', 'model_inspector_unavailable', 'queue_unavailable',
  'dependency_unavailable',
  // Only in a job's `error`
  'job_cancelled', 'kernel_unavailable', 'training_diverged', 'worker_crashed',
  // Only in a sweep's `error`
  'no_trial_succeeded', 'sweep_trial_unstartable',
  // Only in a dataset's `error`
  'registration_cancelled', 'registration_interrupted',
  // Inside the worker only
  'lease_lost',
] as const;

export type ErrorCode = (typeof ERROR_CODE_LIST)[number];

/** What NotFoundError(resource, id) may name: the codes of the form `<resource>_not_found`. */
export type NotFoundResource = ErrorCode extends infer C ? (C extends `${infer R}_not_found` ? R : never) : never;

export type ErrorDetails = Record<string, unknown> | unknown[];

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details?: ErrorDetails;
  /** A retry cannot succeed where the input itself is wrong. */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, statusCode: number, details?: ErrorDetails, retryable = false) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.statusCode = statusCode;
    this.details = details;
    this.retryable = retryable;
  }
}

export class BadRequestError extends AppError {
  constructor(code: ErrorCode, message: string, details?: ErrorDetails) {
    super(code, message, 400, details);
  }
}

/** No key, or one that is unknown or revoked. */
export class UnauthorizedError extends AppError {
  constructor(code: ErrorCode, message: string) {
    super(code, message, 401);
  }
}

/** A valid key that may not do this (a tenant key on an admin route, or the reverse). */
export class ForbiddenError extends AppError {
  constructor(code: ErrorCode, message: string) {
    super(code, message, 403);
  }
}

/** A limit on how much or how often; the client may retry after `retryAfterSeconds`. */
export class TooManyRequestsError extends AppError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly retryAfterSeconds: number,
    details?: ErrorDetails,
  ) {
    super(code, message, 429, details);
  }
}

export class NotFoundError extends AppError {
  constructor(resource: NotFoundResource, id: string) {
    super(`${resource}_not_found`, `${resource} ${id} does not exist`, 404, { id });
  }
}

export class ConflictError extends AppError {
  constructor(code: ErrorCode, message: string, details?: ErrorDetails) {
    super(code, message, 409, details);
  }
}

/** The request is well-formed but cannot be carried out (a spec that can't be built). */
export class UnprocessableError extends AppError {
  constructor(code: ErrorCode, message: string, details?: ErrorDetails) {
    super(code, message, 422, details);
  }
}

/** A dependency (S3, Postgres, Redis) failed; worth retrying. */
export class TransientError extends AppError {
  constructor(code: ErrorCode, message: string, details?: ErrorDetails) {
    super(code, message, 503, details, true);
  }
}

/**
 * Over a configured size limit. `setting` names the variable that raises it, so
 * the client (and the operator) can tell which limit was hit.
 */
export class LimitExceededError extends AppError {
  constructor(code: ErrorCode, message: string, statusCode: 400 | 413 | 422, setting: string, limit: number, actual: number) {
    super(code, `${message} (limit ${limit}, ${setting})`, statusCode, { setting, limit, actual });
  }
}
