// What one tenant, request, dataset, model or job may take, and the bounds on the
// child process that builds untrusted models.
import { int } from './kinds.ts';

export const limits = {
  limits: {
    requestsPerMinute: int('RATE_LIMIT_PER_MINUTE', 600, {
      min: 1,
      doc: 'requests per tenant per minute, shared by all API instances (a fixed window in Redis); then `429 rate_limited`',
    }),
    queuedJobsPerTenant: int('MAX_QUEUED_JOBS_PER_TENANT', 50, { min: 1, doc: 'queued or paused jobs a tenant may have; then `429 too_many_queued_jobs`' }),
    runningJobsPerTenant: int('MAX_RUNNING_JOBS_PER_TENANT', 4, {
      min: 1,
      doc: 'jobs of one tenant running at once, across all workers (counted in Postgres); the rest wait queued',
    }),
    datasetRows: int('MAX_DATASET_ROWS', 1_000_000, { min: 1, doc: 'rows (examples) a dataset may have; then `413 dataset_too_many_rows`' }),
    datasetFeatures: int('MAX_DATASET_FEATURES', 10_000, { min: 1, doc: 'features per example (MNIST has 784); then `413 dataset_too_many_features`' }),
    datasetClasses: int('MAX_DATASET_CLASSES', 1_000, {
      min: 2,
      doc: 'distinct labels a dataset may have (every read lists each with its count); then `413 dataset_too_many_classes`',
    }),
    datasetRegistrationsPerTenant: int('MAX_DATASET_REGISTRATIONS_PER_TENANT', 4, {
      min: 1,
      doc: 'registrations of one tenant validating in the background at once (images, and CSV/NDJSON files over DATASET_SYNC_MAX_BYTES); then `429 too_many_dataset_registrations`',
    }),
    imagePixels: int('MAX_IMAGE_PIXELS', 40_000_000, {
      min: 1,
      doc: 'pixels an image of a dataset may have, as its header claims (40 MP); checked before decoding, so a decompression bomb costs nothing: `413 image_too_large`',
    }),
    modelBytes: int('MAX_MODEL_BYTES', 100 * 2 ** 20, { min: 1, doc: 'weight bytes a registered model\'s manifest may declare (100 MiB); then `422 model_too_large`' }),
    modelLayers: int('MAX_MODEL_LAYERS', 256, { min: 1, doc: 'layers a registered model or a job\'s model may have; then `422 model_too_many_layers`. For a Graph model, the node rows recorded (those nearest its output; docs/models.md)' }),
    epochExamples: int('MAX_EPOCH_EXAMPLES', 100_000_000, { min: 1, doc: 'epochs × training examples one job may ask for; then `422 job_too_large`' }),
    sweepTrials: int('MAX_SWEEP_TRIALS', 100, { min: 1, doc: 'trials one sweep may plan (a grid\'s size, or random search\'s maxTrials); then `422 sweep_too_large`' }),
    sweepParallelism: int('MAX_SWEEP_PARALLELISM', 8, { min: 1, doc: 'trials of one sweep queued or running at once (its `parallelism`); then `422 sweep_too_large`' }),
    pageSize: int('MAX_PAGE_SIZE', 100, {
      min: 1,
      doc: 'items per page of the dataset, model and job lists (the default page is 20, or less if this is lower); then `400 page_size_exceeded`',
    }),
    eventPageSize: int('MAX_EVENT_PAGE_SIZE', 500, { min: 1, doc: 'events per page of a job\'s event log (default page 100); then `400 page_size_exceeded`' }),
  },
  maxModelParams: int('MAX_MODEL_PARAMS', 20_000_000, {
    min: 1,
    doc: 'largest model, in parameters, that a job may build or a registration may bring (its weights: 4 bytes a parameter)',
  }),
  datasetSyncMaxBytes: int('DATASET_SYNC_MAX_BYTES', 16 * 2 ** 20, {
    min: 0,
    shown: '16777216 (16 MiB)',
    doc: 'a CSV/NDJSON file up to this size registers within the request (201); a larger one answers 202 and registers in the background, as images do (docs/datasets.md#tabular-files)',
  }),
  maxDatasetBytes: int('MAX_DATASET_BYTES', 256 * 2 ** 20, {
    min: 1,
    doc: 'largest dataset file registration reads from S3 (256 MiB; `413 object_too_large`, checked with HEAD first)',
  }),
};

/**
 * The child process that builds an untrusted model with tfjs (registration, and a worker's load
 * of a registered model): killed past either limit, with `422 model_invalid`.
 */
export const modelInspector = {
  modelInspector: {
    timeoutMs: int('MODEL_INSPECT_TIMEOUT_MS', 30_000, {
      min: 100,
      doc: 'wall time the model inspector\'s child may take to build a registered model (registration, and a worker\'s load of a registered base); then it is killed: `422 model_invalid`',
    }),
    // Node, tsx and tfjs alone take about 200 MiB.
    memoryMb: int('MODEL_INSPECT_MEMORY_MB', 1024, {
      min: 256,
      doc: 'the inspector child\'s memory (resident set, node and tfjs included, about 200 MiB before any model; also its V8 heap limit); past it, killed: `422 model_invalid`',
    }),
    concurrency: int('MODEL_INSPECT_CONCURRENCY', 2, { min: 1, doc: 'inspector children one process runs at once; more registrations wait' }),
  },
};
