// Every error code the service gives, documented in one catalogue: the OpenAPI
// document lists each route's codes from it (as response examples), and renders
// the whole table in its description. The codes themselves are ERROR_CODE_LIST
// (apps/shared/errors.ts), the only strings an AppError accepts; `satisfies`
// below makes the build fail on a code left undocumented here, or documented
// but unknown. test/openapi.test.ts fails on a response whose code its route
// does not document.
import type { ErrorCode } from '../../../shared/errors.ts';

export type { ErrorCode };

export interface ErrorCodeDoc {
  /** HTTP statuses the code comes with; empty for codes seen only in a job's `error`. */
  statuses: readonly number[];
  when: string;
}

const doc = (statuses: readonly number[], when: string): ErrorCodeDoc => ({ statuses, when });

export const ERROR_CODES = {
  // The request itself
  validation_failed: doc([400], 'The body, query or path parameters fail the schema (unknown field, out of range, bad uuid, …); `details` lists each failure'),
  invalid_json: doc([400], 'The body is not valid JSON'),
  empty_body: doc([400], 'Content-Type is application/json but the body is empty'),
  invalid_content_length: doc([400], 'The body size does not match Content-Length'),
  bad_request: doc([400], 'Another malformed request'),
  malformed_request: doc([400], "Node's HTTP parser refused the request: an unknown method, a character a header may not hold, conflicting Content-Length and Transfer-Encoding, a malformed chunked body; the connection is closed"),
  invalid_url: doc([400], 'The path is not valid percent-encoded UTF-8 (e.g. %FF)'),
  path_param_too_long: doc([414], 'A path parameter (an id) is longer than 100 characters'),
  headers_too_large: doc([431], 'The request headers are over 16 KiB'),
  request_timeout: doc([408], 'The headers did not arrive within HEADERS_TIMEOUT_MS, or the whole request (a declared body included) within REQUEST_TIMEOUT_MS; the connection is closed'),
  body_too_large: doc([413], 'The body is over BODY_LIMIT_BYTES'),
  unsupported_media_type: doc([415], 'A body type the API has no parser for'),
  invalid_cursor: doc([400], 'The `after` cursor (or Last-Event-ID) is not one this API gave'),
  page_size_exceeded: doc([400], '`limit` is over MAX_PAGE_SIZE (lists) or MAX_EVENT_PAGE_SIZE (event pages); `details` has setting, limit, actual'),
  route_not_found: doc([404], 'No route matches the method and path'),
  // Keys and limits
  unauthorized: doc([401], 'No `Authorization: Bearer <key>` header (sent with WWW-Authenticate: Bearer)'),
  invalid_api_key: doc([401], 'The key is unknown or revoked'),
  tenant_key_required: doc([403], "The admin key was sent to a route for a tenant's data"),
  admin_only: doc([403], 'A tenant key was sent to an admin route'),
  rate_limited: doc([429], 'Over RATE_LIMIT_PER_MINUTE requests this minute; Retry-After says when to try again'),
  too_many_queued_jobs: doc([429], 'The tenant already has MAX_QUEUED_JOBS_PER_TENANT queued or paused jobs; Retry-After is set'),
  too_many_dataset_registrations: doc([429], 'The tenant already has MAX_DATASET_REGISTRATIONS_PER_TENANT registrations validating in the background; Retry-After is set'),
  // Idempotency-Key (POST routes)
  invalid_idempotency_key: doc([400], 'Idempotency-Key is empty, over 255 characters or not printable ASCII'),
  idempotency_key_in_flight: doc([409], 'A request with this Idempotency-Key is still running'),
  idempotency_key_reused: doc([422], 'This Idempotency-Key was used for another endpoint or body within IDEMPOTENCY_TTL_HOURS'),
  // Resources
  dataset_not_found: doc([404, 422], '404: no such dataset for this tenant; 422: a job names a dataset that does not exist'),
  model_not_found: doc([404, 422], '404: no such model for this tenant, or the base graph (GET /v1/models/:id/base/:file) of a model that has none (format other than graph-head); 422: a job names a base model that does not exist'),
  job_not_found: doc([404], 'No such job for this tenant'),
  advice_not_found: doc([404], 'No such advice for this tenant'),
  sweep_not_found: doc([404], 'No such sweep for this tenant'),
  checkpoint_not_found: doc([404], 'The job wrote no checkpoint after that epoch'),
  tenant_not_found: doc([404], 'No such tenant'),
  api_key_not_found: doc([404], 'No such API key'),
  object_not_found: doc([404], 'The S3 object named by a registration (or a stored model file) does not exist'),
  job_not_cancellable: doc([409], 'Cancel of a job that already succeeded or failed'),
  job_not_pausable: doc([409], 'Pause of a job that is neither queued nor running'),
  job_not_paused: doc([409], 'Resume of a job that is not paused'),
  job_not_retryable: doc([409], 'Retry of a job that has not failed'),
  sweep_not_cancellable: doc([409], 'Cancel of a sweep that already succeeded or failed'),
  sweep_trial_not_retryable: doc([409], "Retry of a sweep's trial that its sweep does not take: the sweep has ended or is being cancelled, or `parallelism` trials are live; `details: {sweepId, reason}` (docs/sweeps.md)"),
  model_in_use: doc([409], 'Delete of a model that a queued or running job, or a running sweep, uses as its base'),
  // Sources in S3
  invalid_s3_uri: doc([400], 'Not s3://bucket/key, or the key has "."/".." segments, backslashes or control characters'),
  s3_access_denied: doc([400], 'S3 refused access to the dataset or model object'),
  source_bucket_not_allowed: doc([422], 'The source is in a bucket other than S3_BUCKET and S3_SOURCE_BUCKETS; `details: {bucket, allowed}`'),
  source_key_not_allowed: doc([422], "The source is in S3_BUCKET but outside the caller's upload area uploads/<tenantId>/ (the service's own models/, datasets/, jobs/, cache/, or another tenant's area); decided from the URI alone, so it says nothing about whether the object exists; `details: {allowed}`"),
  object_too_large: doc([413], 'A dataset file over MAX_DATASET_BYTES, or a model file larger than its manifest declares'),
  dataset_invalid: doc([400], 'The CSV/NDJSON cannot be parsed or has a bad value (`details: {row, column}`), or an image manifest or folder layout is wrong: a duplicate uri, a label with control characters, an object outside a class folder (`details: {row?, uri?}`)'),
  image_invalid: doc([400], 'An image of a dataset is empty, truncated, not an image, or not JPEG/PNG/WebP/GIF; `details: {uri, reason}`'),
  image_too_large: doc([413], 'An image\'s header claims more pixels than MAX_IMAGE_PIXELS (refused before decoding); `details: {setting, limit, actual}`'),
  dataset_class_too_small: doc([400], 'A class of an image dataset has fewer than 2 images (a validation split or holdout needs one on each side); `details: {label, uri, count, minimum}`'),
  dataset_not_ready: doc([409], 'A job names a dataset that is still validating, or whose registration failed or was cancelled; `details: {id, status}`'),
  dataset_not_validating: doc([409], 'Cancel of a dataset registration that has already ended (ready, failed or cancelled)'),
  registration_cancelled: doc([], "Only in a dataset's `error`: its registration was cancelled (POST /v1/datasets/{id}/cancel); every object written was deleted"),
  registration_interrupted: doc([], "Only in a dataset's `error`: the API process validating it stopped (shutdown or crash); its objects were deleted; register it again"),
  dataset_empty: doc([400], 'The source selects no examples'),
  model_invalid: doc([422], 'The model files are not an acceptable TensorFlow.js LayersModel or Graph model: unknown layer class, a malformed or cyclic graph or a non-integer dimension (`details: {layer, fault}`), a Graph model weight that is no Const node of its graph (`details.fault: "graph"`), shard bytes differ from the manifest, a stated `format` the file is not (`details.fault: "format_mismatch"`), or tfjs cannot build it within MODEL_INSPECT_TIMEOUT_MS / MODEL_INSPECT_MEMORY_MB'),
  model_unsupported: doc([422], 'A Keras model (.keras / .h5) uses a layer, an option or a format that TensorFlow.js cannot express exactly (a Lambda or custom layer, a nested model, an activation tfjs computes differently, a weights-only file), a TensorFlow.js Graph model that cannot be a frozen base (an op tfjs lacks, named in `details.op` with `details.fault: "graph_op"`; `details.fault`: `graph_input` not one float32 input of a fixed shape, `graph_output` not one float32 output with a row per example, `graph_dynamic` control flow, `graph_superlinear` memory growing faster than the batch, `graph_memory` one example past MODEL_INSPECT_MEMORY_MB, `graph_head` a job on a head trained on a Graph model, `graph_model` advice on a Graph model or a head on one, or a `strategy: "auto"` job on a Graph model, or `model.keras` of either), or a model that Keras cannot express is asked for as a .keras file; `details: {layer, option}` name what'),
  model_too_large: doc([422], "The job's model, or a registered model's weights, exceed MAX_MODEL_PARAMS (parameters) or MAX_MODEL_BYTES (weight bytes declared in the manifest)"),
  model_too_many_layers: doc([422], "The job's model, or a registered model, has more layers than MAX_MODEL_LAYERS"),
  job_too_large: doc([422], 'Epochs × training examples is over MAX_EPOCH_EXAMPLES'),
  dataset_too_many_rows: doc([413], 'The dataset has more rows than MAX_DATASET_ROWS'),
  dataset_too_many_features: doc([413], 'The dataset has more features per example than MAX_DATASET_FEATURES'),
  dataset_too_many_classes: doc([413], 'The dataset has more distinct labels than MAX_DATASET_CLASSES'),
  summary_invalid: doc([422], 'What the service derived from the files (shapes, layers, labels) does not fit its documented response; nothing was stored'),
  invalid_text: doc([400], 'Text the database cannot store (a NUL or other control character) got past the schema'),
  // Job specs
  base_model_required: doc([422], 'A finetune job without baseModelId'),
  architecture_required: doc([422], 'A pretrain job without architecture'),
  invalid_spec: doc([422], 'Fields of the other job type (architecture on finetune; baseModelId, head, cutLayer or freeze on pretrain)'),
  dataset_single_class: doc([422], 'The training set has fewer than two classes'),
  input_shape_mismatch: doc([422], 'Dataset and dataset, dataset and base model, or dataset and a preset\'s inputShape have different example shapes'),
  label_mismatch: doc([422], 'Validation or test labels are not among the training labels'),
  cut_layer_not_found: doc([422], 'Unknown cutLayer, or a layer with several outputs; on a Graph model base, a cutLayer that is not the name of a node with one row per example (`details.nodes` lists some that are)'),
  layer_not_buildable: doc([422], 'A head or architecture layer cannot follow the shape before it'),
  class_count_mismatch: doc([422], 'The last layer does not output one probability per class'),
  graph_base_frozen: doc([422], 'The base is a TensorFlow.js Graph model, whose weights are constants of the graph: it is a frozen base only, so freeze must be "all" (`details.freeze` is what was asked), and compareWithScratch is not available (`details.option`)'),
  invalid_sweep_space: doc([422], 'A sweep space the schema allows but that cannot be searched: a range in a grid, min above max, a log scale from 0, head or cut dimensions for pretraining, a webhook on the trials, a base job with `strategy: "auto"` (it searches on its own); `details: {dimension}`'),
  invalid_sweep_objective: doc([422], 'A sweep objective on validation metrics without validation data, or a direction its metric does not have'),
  sweep_too_large: doc([422], 'More trials than MAX_SWEEP_TRIALS, or a grid larger than maxTrials; `details: {setting, limit, actual}`'),
  invalid_freeze: doc([422], 'unfreezeTop is larger than the number of base layers with weights below the cut'),
  strategy_conflict: doc([422], 'strategy "auto" chooses these itself, or is for finetune jobs only: cutLayer, freeze, the training hyperparameters (epochs, learningRate, optimizer, baseLearningRateMultiplier, schedule, warmupEpochs), compareWithScratch and head (each option gets the default head for its cut)'),
  outbound_url_not_allowed: doc([422], "The webhook URL is refused: not https (http only to allow-listed hosts), user:pass@, not on OUTBOUND_ALLOWED_HOSTS, or a blocked address; `details: {url, reason, range?}`"),
  // Races that a database constraint caught
  invalid_id: doc([400], 'An id in the request is malformed (database check)'),
  not_found: doc([404], 'A record this request changes was deleted meanwhile'),
  conflict: doc([409], 'A record with the same key was created meanwhile'),
  reference_not_found: doc([422], 'A record this request refers to was deleted meanwhile'),
  // The server and what it depends on
  internal_error: doc([500], 'An unexpected error; the message is generic and the cause is logged'),
  stored_record_invalid: doc([500], 'A stored dataset or model no longer fits its schema and cannot be shown (logged); lists leave it out and name it in `skipped`'),
  storage_unavailable: doc([503], 'S3 failed; retry'),
  model_inspector_unavailable: doc([503], 'The child process that builds a registered model with tfjs could not start or died for a reason other than the model; retry'),
  dependency_unavailable: doc([503], 'Postgres (or, for a job, the dependency its `error.message` names: Postgres, Redis or S3) is unreachable or restarting; nothing was written; Retry-After says when to try again. A job fails with it only after OUTAGE_BUDGET_MS of continuous outage, keeping its checkpoints'),
  queue_unavailable: doc([503], 'Redis refused the job (nothing was stored), or a resumed job waits to be handed to the queue; retry'),
  // Only in a job's `error`
  job_cancelled: doc([], 'The job was cancelled; its checkpoints are kept'),
  kernel_unavailable: doc([], 'The worker backend lacks a kernel that training needs; never retried'),
  training_diverged: doc([], 'The loss became NaN or infinite; earlier checkpoints stay'),
  worker_crashed: doc([], "The training process died on the job's last attempt (JOB_ATTEMPTS)"),
  no_trial_succeeded: doc([], "Only in a sweep's `error`: every trial ended and none succeeded; the message counts them and names the first failure"),
  sweep_trial_unstartable: doc([], "Only in a sweep's `error`: a planned trial could never start (its stored job does not decode, or its job breaks a constraint, e.g. its base model is gone)"),
  // Inside the worker only
  lease_lost: doc([], "Never shown: a worker's write to a job that another worker has taken over is rolled back, and the worker lets the job go"),
} as const satisfies Record<ErrorCode, ErrorCodeDoc>;

const ERROR_REF = { $ref: 'Error' };

/** Status → the codes a route gives with it. */
export type RouteErrors = Partial<Record<number, readonly ErrorCode[]>>;

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  401: 'No valid API key',
  403: 'Wrong kind of key',
  404: 'Not found',
  408: 'Request timeout',
  409: 'Conflict with the current state',
  413: 'Too large',
  414: 'URI too long',
  415: 'Unsupported media type',
  422: 'Cannot be carried out',
  429: 'Too many',
  431: 'Request headers too large',
  500: 'Internal error',
  503: 'A backing service is unavailable',
};

/** Marks a response entry as ours, so that cross-cutting codes can be merged into it. */
const CODES = Symbol('errorCodes');

export interface ErrorResponse {
  description: string;
  content: { 'application/json': { schema: typeof ERROR_REF; examples: Record<string, { summary: string; value: { error: { code: string; message: string } } }> } };
  [CODES]: readonly ErrorCode[];
}

function errorResponse(status: number, codes: readonly ErrorCode[]): ErrorResponse {
  const unique = [...new Set(codes)];
  for (const code of unique) {
    const known = ERROR_CODES[code] as ErrorCodeDoc | undefined;
    if (!known) throw new Error(`Error code ${code} is not in the catalogue (apps/api/src/schemas/errors.ts)`);
    if (!known.statuses.includes(status)) throw new Error(`Error code ${code} is documented with ${known.statuses.join('/')}, not ${status}`);
  }
  return {
    description: `${STATUS_TEXT[status] ?? 'Error'}: ${unique.map((c) => `\`${c}\``).join(', ')}`,
    // One example per code: Swagger UI lists them, and the test reads them as the route's codes.
    content: {
      'application/json': {
        schema: ERROR_REF,
        examples: Object.fromEntries(unique.map((code) => [code, { summary: ERROR_CODES[code].when, value: { error: { code, message: ERROR_CODES[code].when } } }])),
      },
    },
    [CODES]: unique,
  };
}

/** Response entries for a route's own error codes; the swagger plugin adds the cross-cutting ones (auth, validation, 500). */
export function errorResponses(errors: RouteErrors): Record<number, ErrorResponse> {
  return Object.fromEntries(Object.entries(errors).map(([status, codes]) => [Number(status), errorResponse(Number(status), codes ?? [])]));
}

/** The codes of a response entry built by errorResponses, or undefined for any other entry. */
export function codesOf(entry: unknown): readonly ErrorCode[] | undefined {
  return entry && typeof entry === 'object' ? (entry as Partial<ErrorResponse>)[CODES] : undefined;
}

/** Merges more codes into a route's responses, keeping entries that are not error responses (readyz's 503). */
export function withErrors(response: Record<string, unknown> | undefined, more: RouteErrors): Record<string, unknown> {
  const out: Record<string, unknown> = { ...response };
  for (const [key, codes] of Object.entries(more)) {
    if (!codes?.length) continue;
    const status = Number(key);
    const existing = out[status];
    if (existing !== undefined && codesOf(existing) === undefined) continue;
    out[status] = errorResponse(status, [...(codesOf(existing) ?? []), ...codes]);
  }
  return out;
}

/** The catalogue as a Markdown table, for the document's description. */
export function errorCatalogueMarkdown(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, d]) => `| ${d.statuses.length ? d.statuses.join(', ') : 'job only'} | \`${code}\` | ${d.when.replaceAll('|', '\\|')} |`);
  return ['| HTTP | code | when |', '|---|---|---|', ...rows].join('\n');
}
