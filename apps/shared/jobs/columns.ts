// The job's other JSON columns, and the JSON columns of what a job reads
// (its datasets' sources, its base model's layer summaries).
import { Type, type Static } from '@sinclair/typebox';
import { MnistSourceSchema, S3SourceSchema } from '../data/dataset-source.ts';
import { StoredImagesSourceSchema } from '../data/images/schema.ts';
import { MONITORED } from './spec.ts';

const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

/** One finished epoch's metrics; also the job's latestMetrics column. */
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
export type EpochMetric = Static<typeof EpochMetricSchema>;

export const BestCheckpointSchema = Type.Object({
  epoch: Type.Integer({ description: 'The epoch whose weights the output model has' }),
  metric: Type.Union(MONITORED.map((m) => Type.Literal(m)), { description: 'loss, accuracy, valLoss or valAccuracy' }),
  value: Type.Number(),
  earlyStopped: Type.Boolean(),
  fastPath: Type.Boolean({ description: 'The frozen base ran once over the data instead of every batch' }),
  featureCache: Type.Union([Type.Literal('hit'), Type.Literal('miss'), Type.Null()], { description: "Whether the frozen base's features came from the S3 cache" }),
  threads: Type.Optional(Type.Integer({ description: 'Threads that trained it, data-parallel (TRAIN_THREADS)' })),
  streamed: Type.Optional(Type.Boolean({ description: 'The training data was streamed from its shards rather than held in memory' })),
  featuresPerBatch: Type.Optional(Type.Boolean({ description: 'With augmentation on the fast path: the frozen base ran on each augmented batch' })),
  featurePassMs: Type.Optional(Type.Integer({ description: "Time getting the frozen base's features (computed over the data, or read from the cache)" })),
  dataWaitFraction: Type.Optional(Type.Number({ description: 'Of the training time, the fraction spent waiting for the next batch' })),
});
export type BestCheckpoint = Static<typeof BestCheckpointSchema>;

/** The mid-epoch checkpoint an interrupted job continues from. */
export const ResumePointSchema = Type.Object({ prefix: Type.String(), epoch: Type.Integer({ minimum: 0 }), batch: Type.Integer({ minimum: 0 }) });
export type ResumePoint = Static<typeof ResumePointSchema>;

/** A dataset's stored source: an S3 file is snapshotted into our bucket so a job always reads what was validated. */
export const StoredSourceSchema = Type.Union([
  Type.Object({ ...MnistSourceSchema.properties, split: Type.Union([Type.Literal('train'), Type.Literal('test')]), classes: Type.Array(Type.Integer({ minimum: 0, maximum: 9 })) }),
  // Before registration streamed: the file itself, read whole.
  Type.Object({ ...S3SourceSchema.properties, objectKey: Type.String(), featureColumns: Type.Array(Type.String()) }),
  // Since: float32 shards under prefix (apps/shared/data/stream/tabular-shards.ts).
  Type.Object({ ...S3SourceSchema.properties, featureColumns: Type.Array(Type.String()), prefix: Type.String(), numShards: Type.Integer() }),
  StoredImagesSourceSchema,
]);
export type StoredSource = Static<typeof StoredSourceSchema>;

const Shape = Type.Array(Type.Union([Type.Integer(), Type.Null()]));
export const LayerSummarySchema = Type.Object({
  name: Type.String(),
  className: Type.String(),
  trainable: Type.Boolean(),
  params: Type.Integer(),
  outputShape: Type.Union([Shape, Type.Array(Shape)]),
});
export const LayerSummariesSchema = Type.Array(LayerSummarySchema);
export type LayerSummary = Static<typeof LayerSummarySchema>;
export { Shape as ShapeSchema };

/** One try at delivering a webhook (WebhookDelivery.attemptLog holds a list of them). */
export const WebhookAttemptSchema = Type.Object({
  at: Type.String({ format: 'date-time' }),
  statusCode: Type.Optional(Type.Integer()),
  error: Type.Optional(Type.String()),
  durationMs: Type.Integer(),
});
export type WebhookAttempt = Static<typeof WebhookAttemptSchema>;
