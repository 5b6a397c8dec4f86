// The job spec: one TypeBox schema validates POST /v1/jobs, documents it in
// OpenAPI, and types the worker's view of a job.
import { Type, type Static } from '@sinclair/typebox';
import { AdviceBudgetSchema } from './advice.ts';
import { Uuid } from './uuid.ts';

export { Uuid };

/**
 * Text people read and Postgres stores (names, labels, column names, URIs): no
 * control characters (NUL is refused by Postgres text and jsonb; the rest end up
 * in logs and terminals), no bidirectional overrides, no lone surrogates (not UTF-8).
 */
export const PLAIN_TEXT = '^[^\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069\\ud800-\\udfff]*$';
export const PlainText = (maxLength: number, extra: Record<string, unknown> = {}) => Type.String({ minLength: 1, maxLength, pattern: PLAIN_TEXT, ...extra });

const Name = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z][A-Za-z0-9_]*$' });
const Activation = Type.Union(
  ['linear', 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'tanh', 'softmax', 'softplus', 'softsign', 'swish', 'mish'].map((a) => Type.Literal(a)),
);
const Size = (max: number) => Type.Integer({ minimum: 1, maximum: max });

export const LayerSpecSchema = Type.Union(
  [
    Type.Object({ type: Type.Literal('dense'), units: Size(65_536), activation: Type.Optional(Activation), name: Type.Optional(Name) }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('dropout'), rate: Type.Number({ minimum: 0, exclusiveMaximum: 1 }), name: Type.Optional(Name) }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('flatten'), name: Type.Optional(Name) }, { additionalProperties: false }),
    Type.Object(
      {
        type: Type.Literal('conv2d'),
        filters: Size(4096),
        kernelSize: Size(31),
        strides: Type.Optional(Size(16)),
        padding: Type.Optional(Type.Union([Type.Literal('valid'), Type.Literal('same')])),
        activation: Type.Optional(Activation),
        name: Type.Optional(Name),
      },
      { additionalProperties: false },
    ),
    Type.Object({ type: Type.Literal('maxPooling2d'), poolSize: Size(16), strides: Type.Optional(Size(16)), name: Type.Optional(Name) }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('batchNormalization'), name: Type.Optional(Name) }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('activation'), activation: Activation, name: Type.Optional(Name) }, { additionalProperties: false }),
  ],
);
export type LayerSpec = Static<typeof LayerSpecSchema>;

export const OPTIMIZERS = ['sgd', 'momentum', 'adam', 'adamax', 'adadelta', 'adagrad', 'rmsprop'] as const;

export const ScheduleSchema = Type.Union([
  Type.Object({ type: Type.Literal('constant') }, { additionalProperties: false }),
  Type.Object(
    {
      type: Type.Literal('step'),
      /** Multiply the learning rate by `factor` every `everyEpochs` epochs. */
      everyEpochs: Type.Integer({ minimum: 1, maximum: 1000 }),
      factor: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      type: Type.Literal('cosine'),
      /** Cosine decay from the learning rate to this over the whole run. */
      minLearningRate: Type.Optional(Type.Number({ minimum: 0, maximum: 10 })),
    },
    { additionalProperties: false },
  ),
]);

export const MONITORED = ['loss', 'accuracy', 'valLoss', 'valAccuracy'] as const;
export type Monitored = (typeof MONITORED)[number];
const Monitor = Type.Union(MONITORED.map((m) => Type.Literal(m)));

export const EarlyStoppingSchema = Type.Object(
  {
    monitor: Type.Optional(Monitor),
    patience: Type.Integer({ minimum: 0, maximum: 1000, default: 3 }),
    minDelta: Type.Number({ minimum: 0, maximum: 1e6, default: 0 }),
  },
  { additionalProperties: false },
);

/** Seeded per (seed, epoch, example), training batches only; image data ([height, width, channels]) only. */
export const AugmentationSchema = Type.Object(
  {
    horizontalFlip: Type.Optional(Type.Boolean({ description: 'mirror half the images left to right' })),
    crop: Type.Optional(Type.Number({ minimum: 0, maximum: 0.5, description: 'random crop/zoom: cut up to this fraction of the height and width at a random place, resized back' })),
    rotation: Type.Optional(Type.Number({ minimum: 0, maximum: 30, description: 'rotate by up to ± this many degrees (edges filled with the nearest pixel)' })),
    brightness: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'add up to ± this fraction of the value range' })),
    contrast: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'scale the distance from the image mean by 1 ± up to this' })),
  },
  { additionalProperties: false },
);
export type Augmentation = Static<typeof AugmentationSchema>;

export const HyperparametersSchema = Type.Object(
  {
    epochs: Type.Integer({ minimum: 1, maximum: 1000, default: 3 }),
    batchSize: Type.Integer({ minimum: 1, maximum: 8192, default: 32 }),
    learningRate: Type.Number({ exclusiveMinimum: 0, maximum: 10, default: 0.001 }),
    optimizer: Type.Union(OPTIMIZERS.map((o) => Type.Literal(o)), { default: 'adam' }),
    /** Used only when no validation dataset is given. */
    validationSplit: Type.Number({ minimum: 0, maximum: 0.5, default: 0.1 }),
    /** Seeds initialisation, dropout, shuffling and the validation split: same seed and data, same metrics. */
    seed: Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, default: 42 }),
    schedule: Type.Optional(ScheduleSchema),
    /** Linear warm-up of the learning rate over this many epochs (per batch). */
    warmupEpochs: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    /** The base's learning rate is the head's times this (fine-tuning with unfrozen base layers). */
    baseLearningRateMultiplier: Type.Optional(Type.Number({ minimum: 0, maximum: 10 })),
    /** Per-label loss weights, or 'balanced' (inverse class frequency). */
    classWeights: Type.Optional(Type.Union([Type.Literal('balanced'), Type.Record(Type.String({ maxLength: 100, pattern: PLAIN_TEXT }), Type.Number({ minimum: 0, maximum: 1e6 }), { additionalProperties: false })])),
    earlyStopping: Type.Optional(EarlyStoppingSchema),
    /** The metric that picks the best epoch, whose weights the job ends with. Default valLoss (loss without validation data). */
    bestCheckpointMetric: Type.Optional(Monitor),
    /** Random changes to training images, seeded; with a frozen base its features are computed per augmented batch. */
    augmentation: Type.Optional(AugmentationSchema),
  },
  { additionalProperties: false },
);
export type Hyperparameters = Static<typeof HyperparametersSchema>;


const FreezeTopSchema = Type.Object(
  { unfreezeTop: Type.Integer({ minimum: 1, maximum: 10_000, description: 'Train the top K base layers that have weights' }) },
  { additionalProperties: false },
);
const FreezeGradualSchema = Type.Object(
  { unfreezeEvery: Type.Integer({ minimum: 1, maximum: 1000, description: 'Unfreeze one more base layer (from the top) every N epochs' }) },
  { additionalProperties: false },
);
export type Freeze = 'all' | 'none' | Static<typeof FreezeTopSchema> | Static<typeof FreezeGradualSchema>;

/** pretrain: a backbone preset with Keras' layer names, plus a classification head (docs/models.md). */
export const PresetSchema = Type.Object(
  {
    preset: Type.Union([Type.Literal('mobilenetV2'), Type.Literal('mobilenetV3Small'), Type.Literal('mnistCnn')]),
    /** The MobileNets' width multiplier (Keras' alpha). @defaultValue 1 */
    alpha: Type.Optional(Type.Number({ minimum: 0.1, maximum: 2 })),
    /** The input shape [height, width, channels]; must be the training set's. @defaultValue the training set's */
    inputShape: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 4096 }), { minItems: 3, maxItems: 3 })),
  },
  { additionalProperties: false },
);
export type PresetSpec = Static<typeof PresetSchema>;

export const CreateJobSchema = Type.Object(
  {
    type: Type.Union([Type.Literal('finetune'), Type.Literal('pretrain')], { default: 'finetune' }),
    name: Type.Optional(PlainText(200)),
    /** finetune: the pretrained model to start from. */
    baseModelId: Type.Optional(Uuid),
    /** finetune: the base layer whose output feeds the head; default drops the base's output layer. */
    cutLayer: Type.Optional(
      Type.Union([PlainText(200), Type.Integer({ minimum: -10_000, maximum: 10_000, description: 'index; negative counts from the top' })]),
    ),
    /** finetune: which base layers stay fixed: all, none, the base minus its top K weighted layers, or gradual unfreezing. */
    freeze: Type.Union([Type.Literal('all'), Type.Literal('none'), FreezeTopSchema, FreezeGradualSchema], { default: 'all' }),
    /** finetune: layers added on top of the cut; the last must be dense with one unit per class. Default: dense(classes, softmax). */
    head: Type.Optional(Type.Array(LayerSpecSchema, { minItems: 1, maxItems: 32 })),
    /** pretrain: the whole model after its input (the last must be dense with one unit per class), or a backbone preset. */
    architecture: Type.Optional(Type.Union([Type.Array(LayerSpecSchema, { minItems: 1, maxItems: 64 }), PresetSchema])),
    hyperparameters: Type.Optional(Type.Partial(HyperparametersSchema)),
    trainDatasetId: Uuid,
    validationDatasetId: Type.Optional(Uuid),
    testDatasetId: Type.Optional(Uuid),
    /** Also train the same architecture from random initialisation on the same data and budget, and compare. */
    compareWithScratch: Type.Optional(Type.Boolean()),
    /** finetune: "auto" measures the base on the data (as POST /v1/advice), trains the best few options briefly and keeps the best on validation (docs/advice.md); cutLayer, freeze and the training hyperparameters are then the advisor's. */
    strategy: Type.Optional(Type.Union([Type.Literal('manual'), Type.Literal('auto')], { description: 'manual (default) or auto: the advisor picks cut, freeze, learning rate and epochs' })),
    /** The validation accuracy whose epochs-to-reach the comparison reports. @defaultValue 0.9 */
    targetValAccuracy: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
    /** Where to POST the job when it finishes, signed with the secret (which is never shown again). */
    webhook: Type.Optional(
      Type.Object(
        {
          url: Type.String({ maxLength: 2048, pattern: '^https?://[^\\s]+$', description: 'http(s) URL; redirects are not followed' }),
          secret: Type.String({ minLength: 16, maxLength: 256, description: 'HMAC-SHA256 key for the Webhook-Signature header; write-only' }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type CreateJob = Static<typeof CreateJobSchema>;

const FreezeSchema = Type.Union([Type.Literal('all'), Type.Literal('none'), FreezeTopSchema, FreezeGradualSchema]);

/** What is stored on the job (its spec column) and read by the worker: every default filled in. */
export const JobSpecSchema = Type.Object({
  type: Type.Union([Type.Literal('finetune'), Type.Literal('pretrain')]),
  name: Type.Optional(Type.String()),
  baseModelId: Type.Optional(Type.String()),
  /** The base layer the head sits on, by name. */
  cutLayer: Type.Optional(Type.String()),
  freeze: FreezeSchema,
  head: Type.Array(LayerSpecSchema),
  /** Layer specs, or a MobileNet preset (mnistCnn is stored as its layer specs), its inputShape filled in. */
  architecture: Type.Optional(Type.Union([Type.Array(LayerSpecSchema), PresetSchema])),
  hyperparameters: HyperparametersSchema,
  /** The training set's labels, in class-index order. */
  labels: Type.Array(Type.String()),
  trainDatasetId: Type.String(),
  validationDatasetId: Type.Optional(Type.String()),
  testDatasetId: Type.Optional(Type.String()),
  compareWithScratch: Type.Boolean(),
  targetValAccuracy: Type.Number(),
  /** Advice jobs (type advice), and finetune jobs with strategy auto: what the advisor measures with. */
  advice: Type.Optional(AdviceBudgetSchema),
  /** auto: the advisor chooses the cut, freeze and training hyperparameters (docs/advice.md). */
  strategy: Type.Optional(Type.Literal('auto')),
});
export type JobSpec = Static<typeof JobSpecSchema>;

export const DEFAULT_HYPERPARAMETERS: Hyperparameters = {
  epochs: 3,
  batchSize: 32,
  learningRate: 0.001,
  optimizer: 'adam',
  validationSplit: 0.1,
  seed: 42,
};
