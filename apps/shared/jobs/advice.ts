// The advisor's result, typed once: the worker writes it, the API returns it
// (GET /v1/advice/:id) and `strategy: "auto"` reads its options. Every number
// a recommendation rests on is in it (docs/advice.md explains each).
import { Type, type Static } from '@sinclair/typebox';
import { Uuid } from './uuid.ts';

const FreezeOption = Type.Union([
  Type.Literal('all'),
  Type.Literal('none'),
  Type.Object({ unfreezeTop: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
  Type.Object({ unfreezeEvery: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
]);

export const AdviceOptionSchema = Type.Object({
  id: Type.String({ description: 'e.g. "finetune:flatten:all" or "scratch"' }),
  strategy: Type.Union([Type.Literal('finetune'), Type.Literal('scratch')]),
  cutLayer: Type.Optional(Type.String()),
  freeze: FreezeOption,
  hyperparameters: Type.Object({
    optimizer: Type.Literal('adam'),
    learningRate: Type.Number(),
    baseLearningRateMultiplier: Type.Optional(Type.Number()),
    epochs: Type.Integer(),
    batchSize: Type.Integer(),
  }),
  /** The advisor's estimate, from the probe and the learning curve (docs/advice.md). */
  expectedValAccuracy: Type.Number(),
  /** Training examples seen × layers with weights trained, summed over epochs. */
  compute: Type.Number(),
  /** Whether the base runs once over the data (frozen throughout): options that share a cut share one feature pass. */
  sharesFeaturePass: Type.Boolean(),
});
export type AdviceOption = Static<typeof AdviceOptionSchema>;

export const CutMeasurementSchema = Type.Object({
  layer: Type.String(),
  /** Activation size at the cut, and the columns measured (a seeded random projection when wider). */
  dims: Type.Integer(),
  measuredDims: Type.Integer(),
  weightedLayersBelow: Type.Integer(),
  /** Options are built on this cut (the `maxCuts` nearest the output); the others are measured to estimate what unfreezing the layers above them recovers. */
  offered: Type.Boolean(),
  /** LogME (You et al. 2021): mean per-example log evidence; higher transfers better. */
  logme: Type.Number(),
  /** 5-fold ridge probe accuracy on the sample, and on half of it (the learning curve's slope). */
  probeAccuracy: Type.Number(),
  probeAccuracyHalf: Type.Number(),
});

export const AdviceSchema = Type.Object({
  sampleSize: Type.Integer(),
  data: Type.Object({
    examples: Type.Integer(),
    classes: Type.Integer(),
    perClass: Type.Array(Type.Integer()),
    minMaxRatio: Type.Number(),
    balance: Type.Number(),
  }),
  similarity: Type.Object({
    value: Type.Number({ description: '1 − mean normalised entropy of the base’s own outputs on the task inputs: 1 familiar, 0 unfamiliar' }),
    meanEntropy: Type.Number(),
    baseClasses: Type.Integer(),
  }),
  cuts: Type.Array(CutMeasurementSchema),
  /** The same probe on the raw inputs: what a model trained from scratch starts from. */
  rawProbeAccuracy: Type.Number(),
  rawProbeAccuracyHalf: Type.Number(),
  options: Type.Array(AdviceOptionSchema),
  recommended: Type.String({ description: 'the id of the option with the highest expected validation accuracy (ties within 0.5 points: the cheaper)' }),
  reasons: Type.Array(Type.String()),
  /** Cuts whose activations were computed (the rest came from the feature cache); set by the worker. */
  featurePasses: Type.Optional(Type.Integer()),
});
export type Advice = Static<typeof AdviceSchema>;

/** `strategy: "auto"` on a job: every option the advisor considered, the ones it trained with what they measured (GET /v1/jobs/:id). */
export const AutoRecordSchema = Type.Object({
  /** The option whose model is the job's output model: the best trained one on validation. */
  winner: Type.String(),
  /** The advisor's own pick (highest expected accuracy, cheapest within half a point). */
  recommended: Type.String(),
  options: Type.Array(Type.Object({
    id: Type.String(),
    expectedValAccuracy: Type.Number(),
    /** The estimate once the frozen options were measured (docs/advice.md): what ranked the second round. */
    refinedValAccuracy: Type.Number(),
    /** Planned: training examples × layers with weights trained, summed over epochs. */
    compute: Type.Number(),
    trained: Type.Boolean(),
    /** Trained options: validation accuracy of the epoch kept, epochs run, and the compute they used (by epochs run). */
    measuredValAccuracy: Type.Optional(Type.Number()),
    epochsRun: Type.Optional(Type.Integer()),
    computeUsed: Type.Optional(Type.Number()),
    /** Frozen-base options: whether the cut's features came from the feature cache. */
    featureCache: Type.Optional(Type.Union([Type.Literal('hit'), Type.Literal('miss')])),
  })),
  /** Base feature passes the trained options computed (frozen options at one cut share one; a cache hit costs none). */
  featurePasses: Type.Integer(),
  /** Compute used by the trained options, and what training every option would have cost. */
  compute: Type.Object({ used: Type.Number(), allOptions: Type.Number() }),
});
export type AutoRecord = Static<typeof AutoRecordSchema>;

/** Epochs by data size: small sets get more passes (about 6,000 examples seen), large ones at least 2. */
export function defaultEpochs(examples: number): number {
  return Math.min(20, Math.max(2, Math.ceil(6000 / Math.max(1, examples))));
}

/** Options `strategy: "auto"` trains at most (its jobs offer two cuts): the frozen one at each offered cut, then one more. */
export const AUTO_MAX_TRIED = 3;

/** What an advice job measures with: stored in its spec (`spec.advice`). */
export const AdviceBudgetSchema = Type.Object(
  {
    sampleSize: Type.Integer({ minimum: 20, maximum: 5000, default: 1000, description: 'Training examples measured (stratified by class)' }),
    maxCuts: Type.Integer({ minimum: 1, maximum: 6, default: 2, description: 'Candidate cut layers, nearest the output first' }),
    epochs: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Fix every option’s epochs (default: from the data size)' })),
  },
  { additionalProperties: false },
);
export type AdviceBudget = Static<typeof AdviceBudgetSchema>;

/** POST /v1/advice. */
export const CreateAdviceSchema = Type.Object(
  {
    baseModelId: Uuid,
    trainDatasetId: Uuid,
    validationDatasetId: Type.Optional(Uuid),
    budget: Type.Optional(Type.Partial(AdviceBudgetSchema)),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 })),
  },
  { additionalProperties: false },
);
export type CreateAdvice = Static<typeof CreateAdviceSchema>;
