import { Type, type Static } from '@sinclair/typebox';
import { NullableTimestamp, Page, PageQuery, Timestamp } from './common.ts';
import { Uuid } from '../../../shared/jobs/spec.ts';

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
    evaluation: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
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
    error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
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

export const JobListQuery = Type.Composite([PageQuery, Type.Object({ status: Type.Optional(Status) })], { additionalProperties: false });
export type JobListQuery = Static<typeof JobListQuery>;

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

export const JobEventQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
    after: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'Events after this event id (also read from Last-Event-ID)' })),
  },
  { additionalProperties: false },
);
export type JobEventQuery = Static<typeof JobEventQuery>;

export const JobEventPage = Type.Object({
  jobId: Type.String(),
  data: Type.Array(JobEventSchema),
  hasMore: Type.Boolean(),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
