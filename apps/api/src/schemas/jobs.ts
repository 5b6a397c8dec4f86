import { Type, type Static } from '@sinclair/typebox';
import { EXAMPLE_ID, NullableTimestamp, Page, PageLimit, pageQuery, Timestamp } from './common.ts';
import { CreateJobSchema, Uuid } from '../../../shared/jobs/spec.ts';

/** POST /v1/jobs: the shared job spec, with examples for the document. */
export const CreateJobBody = Type.Object(CreateJobSchema.properties, {
  additionalProperties: false,
  examples: [
    {
      type: 'finetune',
      name: 'digits 5-9 from the 0-4 base',
      baseModelId: EXAMPLE_ID,
      trainDatasetId: '5f1d2c3b-4a59-4e68-8f7a-9b0c1d2e3f40',
      freeze: 'all',
      hyperparameters: { epochs: 5, batchSize: 32, learningRate: 0.001, optimizer: 'adam' },
      compareWithScratch: true,
      webhook: { url: 'https://example.com/hooks/finetune', secret: 'whsec_0123456789abcdef' },
    },
    {
      type: 'pretrain',
      name: 'digits 0-4 base',
      trainDatasetId: '5f1d2c3b-4a59-4e68-8f7a-9b0c1d2e3f40',
      architecture: [
        { type: 'flatten' },
        { type: 'dense', units: 64, activation: 'relu', name: 'features' },
        { type: 'dense', units: 5, activation: 'softmax', name: 'output' },
      ],
      hyperparameters: { epochs: 3 },
    },
  ],
});

export const JOB_STATUSES = ['queued', 'running', 'paused', 'succeeded', 'failed', 'cancelled'] as const;
const Status = Type.Union(JOB_STATUSES.map((s) => Type.Literal(s)));
const Stage = Type.Union([Type.Literal('load'), Type.Literal('freeze'), Type.Literal('train'), Type.Literal('evaluate'), Type.Null()]);
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);
const NullableId = Type.Union([Uuid, Type.Null()]);

export const EpochMetricSchema = Type.Object(
  {
    epoch: Type.Integer(),
    loss: Type.Number(),
    accuracy: NullableNumber,
    valLoss: NullableNumber,
    valAccuracy: NullableNumber,
    durationMs: Type.Integer(),
    examplesPerSec: Type.Number(),
  },
  { $id: 'EpochMetric' },
);

// Open objects (additionalProperties): documented and checked, yet nothing the worker adds is dropped.
const open = { additionalProperties: true };
const RunSummarySchema = Type.Object(
  {
    testAccuracy: Type.Number(),
    testLoss: Type.Number(),
    wallTimeMs: Type.Number({ description: 'Training wall time (for the fine-tuned model, with getting the base features); checkpoint writes, which only the fine-tuned run makes, are not counted' }),
    epochsToTarget: Type.Union([Type.Integer(), Type.Null()], { description: 'First epoch whose validation accuracy reached targetValAccuracy' }),
    valAccuracyByEpoch: Type.Array(NullableNumber),
  },
  open,
);
export const EvaluationSchema = Type.Object(
  {
    split: Type.Union([Type.Literal('test'), Type.Literal('validation')], { description: 'The test set, or the validation data when the job named no test set' }),
    numExamples: Type.Integer(),
    loss: Type.Number(),
    accuracy: Type.Number(),
    perClass: Type.Array(Type.Object({ label: Type.String(), precision: Type.Number(), recall: Type.Number(), f1: Type.Number(), support: Type.Integer() }, open)),
    confusionMatrix: Type.Array(Type.Array(Type.Integer()), { description: 'Rows: true class; columns: predicted class; in label order' }),
    labels: Type.Array(Type.String()),
    comparison: Type.Optional(
      Type.Object({ targetValAccuracy: Type.Number(), fineTuned: RunSummarySchema, scratch: RunSummarySchema }, { ...open, description: 'With compareWithScratch: the same architecture trained from random weights' }),
    ),
  },
  open,
);

export const JobSchema = Type.Object(
  {
    id: Uuid,
    type: Type.Union([Type.Literal('finetune'), Type.Literal('pretrain')]),
    name: Type.Union([Type.String(), Type.Null()]),
    status: Status,
    stage: Stage,
    baseModelId: NullableId,
    trainDatasetId: Uuid,
    validationDatasetId: NullableId,
    testDatasetId: NullableId,
    spec: Type.Record(Type.String(), Type.Unknown(), { description: 'The job as posted, with every default filled in' }),
    progress: Type.Object({ epoch: Type.Integer(), totalEpochs: Type.Integer(), fraction: Type.Number() }),
    webhook: Type.Union([Type.Object({ url: Type.String() }, { description: 'The secret is write-only' }), Type.Null()]),
    latestMetrics: Type.Union([Type.Ref('EpochMetric'), Type.Null()]),
    evaluation: Type.Union([EvaluationSchema, Type.Null()], { description: 'Scores on the held-out data once the job succeeded' }),
    bestCheckpoint: Type.Union([
      Type.Object(
        {
          epoch: Type.Integer({ description: 'The epoch whose weights the output model has' }),
          metric: Type.String(),
          value: Type.Number(),
          earlyStopped: Type.Boolean(),
          fastPath: Type.Boolean({ description: 'The frozen base ran once over the data instead of every batch' }),
          featureCache: Type.Union([Type.Literal('hit'), Type.Literal('miss'), Type.Null()], { description: "Whether the frozen base's features came from the S3 cache" }),
          threads: Type.Optional(Type.Integer({ description: 'Threads that trained it, data-parallel (TRAIN_THREADS)' })),
        },
      ),
      Type.Null(),
    ]),
    outputModelId: NullableId,
    backend: Type.Union([Type.String(), Type.Null()]),
    attempts: Type.Integer(),
    error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()], {
      description: 'Why a job failed or was cancelled: job_cancelled, training_diverged, kernel_unavailable, worker_crashed, internal_error, or a code of the catalogue (e.g. label_mismatch, storage_unavailable)',
    }),
    cancelRequestedAt: NullableTimestamp,
    createdAt: Timestamp,
    updatedAt: Timestamp,
    startedAt: NullableTimestamp,
    finishedAt: NullableTimestamp,
  },
  { $id: 'Job' },
);
export type JobResponse = Static<typeof JobSchema>;

export const JobPage = Page(Type.Ref('Job'));

export const jobListQuery = (maxPageSize: number) =>
  Type.Composite([pageQuery(maxPageSize), Type.Object({ status: Type.Optional(Status) })], { additionalProperties: false });
export type JobListQuery = Static<ReturnType<typeof jobListQuery>>;

/** GET /v1/jobs/:id: a long poll. Unknown parameters are let through, as before it had any. */
export const jobGetQuery = (maxWaitMs: number) =>
  Type.Object({
    waitForChangeMs: Type.Optional(Type.Integer({
      minimum: 0,
      maximum: maxWaitMs,
      description: `With If-None-Match: wait up to this long (at most LONG_POLL_MAX_MS, ${maxWaitMs} here) for the job to change; 304 if it does not`,
    })),
  });

export const MetricsResponse = Type.Object({ jobId: Type.String(), data: Type.Array(Type.Ref('EpochMetric')) });

export const CheckpointSchema = Type.Object({
  epoch: Type.Integer(),
  uri: Type.String({ description: 's3:// location of the checkpoint (model.json + weights.bin)' }),
  sizeBytes: Type.Integer(),
  createdAt: Timestamp,
});
export const CheckpointsResponse = Type.Object({ jobId: Type.String(), data: Type.Array(CheckpointSchema) });

export const WebhookDeliverySchema = Type.Object({
  id: Type.String({ description: 'Also sent as the Webhook-Id header: receivers can drop duplicates by it' }),
  event: Type.String({ description: 'job.succeeded, job.failed or job.cancelled' }),
  url: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  attemptLog: Type.Array(
    Type.Object({ at: Timestamp, statusCode: Type.Optional(Type.Integer()), error: Type.Optional(Type.String()), durationMs: Type.Integer() }),
  ),
  nextAttemptAt: NullableTimestamp,
  deliveredAt: NullableTimestamp,
  createdAt: Timestamp,
});
export const WebhookDeliveriesResponse = Type.Object({ jobId: Type.String(), data: Type.Array(WebhookDeliverySchema) });

export const JobEventSchema = Type.Object({
  id: Type.String({ description: 'Increasing event id; the SSE event id, and the cursor for `after`' }),
  type: Type.String({ description: 'status, stage, epoch, attempt, interrupted, retry, deferred, cancel_requested or warning' }),
  data: Type.Record(Type.String(), Type.Unknown()),
  createdAt: Timestamp,
});
export type JobEventView = Static<typeof JobEventSchema>;

export const jobEventQuery = (maxEventPageSize: number) =>
  Type.Object(
    {
      limit: PageLimit(maxEventPageSize, 'MAX_EVENT_PAGE_SIZE', 100),
      after: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'Events after this event id (also read from Last-Event-ID)' })),
    },
    { additionalProperties: false },
  );
export type JobEventQuery = Static<ReturnType<typeof jobEventQuery>>;

export const JobEventPage = Type.Object({
  jobId: Type.String(),
  data: Type.Array(JobEventSchema),
  hasMore: Type.Boolean(),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
