// A sweep request (POST /v1/sweeps), typed once: the API validates and
// documents it, stores it normalised (SweepSpec) and the worker's ASHA reads
// its objective and early stopping from it (docs/sweeps.md).
import { Type, type Static, type TInteger, type TNumber } from '@sinclair/typebox';
import { CreateJobSchema, MONITORED, OPTIMIZERS, PlainText, type Monitored } from '../jobs/spec.ts';

const Range = (integer: boolean) => Type.Object(
  {
    min: integer ? Type.Integer({ minimum: 0 }) : Type.Number(),
    max: integer ? Type.Integer({ minimum: 0 }) : Type.Number(),
    scale: Type.Optional(Type.Union([Type.Literal('linear'), Type.Literal('log')], { description: 'log: uniform in the logarithm (learning rates)' })),
  },
  { additionalProperties: false, description: 'random search only: drawn uniformly between min and max' },
);
const Choices = <T extends Parameters<typeof Type.Array>[0]>(item: T) => Type.Array(item, { minItems: 1, maxItems: 64, description: 'the values to try' });
const Numeric = (item: TNumber | TInteger, integer = false) => Type.Union([Choices(item), Range(integer)]);

const Freeze = CreateJobSchema.properties.freeze.anyOf;

/**
 * The dimensions a sweep may search, each an existing job field:
 * learningRate, optimizer, batchSize, epochs → hyperparameters; cutLayer, freeze → the job's own;
 * headUnits, headLayers, dropout → the head, built as headLayers × [dense(headUnits, relu), dropout] + dense(classes, softmax).
 */
export const SweepSpaceSchema = Type.Object(
  {
    learningRate: Type.Optional(Numeric(Type.Number({ exclusiveMinimum: 0, maximum: 10 }))),
    optimizer: Type.Optional(Choices(Type.Union(OPTIMIZERS.map((o) => Type.Literal(o))))),
    batchSize: Type.Optional(Numeric(Type.Integer({ minimum: 1, maximum: 8192 }), true)),
    epochs: Type.Optional(Numeric(Type.Integer({ minimum: 1, maximum: 1000 }), true)),
    cutLayer: Type.Optional(Choices(Type.Union([PlainText(200), Type.Integer({ minimum: -10_000, maximum: 10_000 })]))),
    freeze: Type.Optional(Choices(Type.Union(Freeze))),
    headUnits: Type.Optional(Numeric(Type.Integer({ minimum: 1, maximum: 4096 }), true)),
    headLayers: Type.Optional(Numeric(Type.Integer({ minimum: 0, maximum: 8 }), true)),
    dropout: Type.Optional(Numeric(Type.Number({ minimum: 0, maximum: 0.9 }))),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type SweepSpace = Static<typeof SweepSpaceSchema>;
export const SPACE_KEYS = ['learningRate', 'optimizer', 'batchSize', 'epochs', 'cutLayer', 'freeze', 'headUnits', 'headLayers', 'dropout'] as const;
export type SpaceKey = (typeof SPACE_KEYS)[number];
export const HEAD_KEYS: readonly SpaceKey[] = ['headUnits', 'headLayers', 'dropout'];
export const INTEGER_KEYS: readonly SpaceKey[] = ['batchSize', 'epochs', 'headUnits', 'headLayers'];

/** One trial's values, one per dimension of the space. */
export type TrialParams = Partial<Record<SpaceKey, unknown>>;

export const ObjectiveSchema = Type.Object(
  {
    metric: Type.Union(MONITORED.map((m) => Type.Literal(m)), { default: 'valAccuracy' }),
    direction: Type.Optional(Type.Union([Type.Literal('max'), Type.Literal('min')], { description: 'max for accuracies, min for losses (the only direction each has)' })),
  },
  { additionalProperties: false },
);

// No `default`s here: inside a union Ajv would ignore them (strict mode refuses that); the service fills them in.
const ashaFields = {
  minEpochs: Type.Integer({ minimum: 1, maximum: 1000, description: 'the first rung: no trial stops before this many epochs (default 1)' }),
  reductionFactor: Type.Integer({ minimum: 2, maximum: 10, description: 'rungs at minEpochs × factor^k; at each, a trial below the top 1/factor of those that reached it stops (default 3)' }),
};
/** As stored and shown: both set. */
export const AshaSchema = Type.Object(ashaFields, { additionalProperties: false });
export type Asha = Static<typeof AshaSchema>;
const AshaRequest = Type.Partial(Type.Object(ashaFields, { additionalProperties: false }));

export const CreateSweepSchema = Type.Object(
  {
    name: Type.Optional(PlainText(200)),
    /** The job every trial starts from: the same schema as POST /v1/jobs (a webhook is not allowed on trials). */
    job: CreateJobSchema,
    method: Type.Union([Type.Literal('grid'), Type.Literal('random')], { default: 'grid' }),
    space: SweepSpaceSchema,
    objective: Type.Optional(ObjectiveSchema),
    /** grid: at most the grid's size (the default); random: how many to draw (default 10). At most MAX_SWEEP_TRIALS. */
    maxTrials: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    /** Trials running or queued at once; at most MAX_SWEEP_PARALLELISM. */
    parallelism: Type.Integer({ minimum: 1, maximum: 1000, default: 1 }),
    /** Seeds random search's draws: the same seed draws the same trials. */
    seed: Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, default: 0 }),
    /** ASHA on the objective at rungs of epochs; false turns it off. */
    earlyStopping: Type.Optional(Type.Union([Type.Literal(false), AshaRequest])),
  },
  { additionalProperties: false },
);
export type CreateSweep = Static<typeof CreateSweepSchema>;

export type Direction = 'max' | 'min';
export const directionOf = (metric: Monitored): Direction => (metric === 'accuracy' || metric === 'valAccuracy' ? 'max' : 'min');

/** What Sweep.spec holds: the request with every default filled in. */
export interface SweepSpec {
  name?: string;
  job: CreateSweep['job'];
  method: 'grid' | 'random';
  space: SweepSpace;
  objective: { metric: Monitored; direction: Direction };
  maxTrials: number;
  parallelism: number;
  seed: number;
  earlyStopping: Asha | false;
}

/** What a trial's training did: examples × layers with weights trained, summed over the epochs it ran. */
export const TrialComputeSchema = Type.Object({
  examples: Type.Integer({ description: 'training examples per epoch' }),
  epochsRun: Type.Integer(),
  exampleLayers: Type.Number({ description: 'Σ over epochs of examples × layers trained (head and unfrozen base layers)' }),
});
export type TrialCompute = Static<typeof TrialComputeSchema>;
