import { Type, type Static } from '@sinclair/typebox';
import { EXAMPLE_ID, NullableTimestamp, Page, PageLimit, pageQuery, Timestamp } from './common.ts';
import { CreateJobSchema, Uuid } from '../../../shared/jobs/spec.ts';
import { BestCheckpointSchema, EpochMetricSchema, WebhookAttemptSchema } from '../../../shared/jobs/columns.ts';
import { EvaluationSchema } from '../../../shared/jobs/evaluation.ts';
import { AutoRecordSchema } from '../../../shared/jobs/advice.ts';
import { JOB_EVENT_TYPES } from '../../../shared/jobs/events.ts';
import { DeliveryStatusSchema, JOB_STATUSES, JobStageSchema, JobStatusSchema } from '../../../shared/jobs/status.ts';

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

export { JOB_STATUSES, EpochMetricSchema, EvaluationSchema };
const Status = JobStatusSchema;
const Stage = Type.Union([JobStageSchema, Type.Null()]);
const NullableId = Type.Union([Uuid, Type.Null()]);

export const JobSchema = Type.Object(
  {
    id: Uuid,
    type: Type.Union([Type.Literal('finetune'), Type.Literal('pretrain'), Type.Literal('advice')], { description: 'advice: a POST /v1/advice measurement (docs/advice.md)' }),
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
    bestCheckpoint: Type.Union([BestCheckpointSchema, Type.Null()]),
    auto: Type.Union([AutoRecordSchema, Type.Null()], { description: 'strategy auto: every option the advisor considered, the ones trained with their measured validation accuracy and compute, and the winner (docs/advice.md)' }),
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
    sweepId: Type.Union([Uuid, Type.Null()], { description: 'The sweep this job is a trial of (docs/sweeps.md)' }),
  },
  { $id: 'Job' },
);
export type JobResponse = Static<typeof JobSchema>;

export const JobPage = Page(Type.Ref('Job'));

export const jobListQuery = (maxPageSize: number) =>
  Type.Composite([pageQuery(maxPageSize), Type.Object({ status: Type.Optional(Status), sweepId: Type.Optional(Type.String({ ...Uuid, description: 'Only the trials of this sweep' })) })], { additionalProperties: false });
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
  status: DeliveryStatusSchema,
  attempts: Type.Integer(),
  attemptLog: Type.Array(WebhookAttemptSchema),
  nextAttemptAt: NullableTimestamp,
  deliveredAt: NullableTimestamp,
  createdAt: Timestamp,
});
export const WebhookDeliveriesResponse = Type.Object({ jobId: Type.String(), data: Type.Array(WebhookDeliverySchema) });

export const JobEventSchema = Type.Object({
  id: Type.String({ description: 'Increasing event id; the SSE event id, and the cursor for `after`' }),
  type: Type.String({ description: JOB_EVENT_TYPES.join(', ') }),
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
