// POST /v1/sweeps and the sweep as the API shows it: its request (shared/
// sweeps/spec.ts), its trials' counts, the feature passes, the leaderboard.
import { Type, type Static } from '@sinclair/typebox';
import { JobStatusSchema } from '../../../shared/jobs/status.ts';
import { Uuid } from '../../../shared/jobs/uuid.ts';
import { AshaSchema, CreateSweepSchema, ObjectiveSchema, TrialComputeSchema } from '../../../shared/sweeps/spec.ts';
import { EXAMPLE_ID, NullableTimestamp, Page, pageQuery, Timestamp } from './common.ts';

export const CreateSweepBody = Type.Object(CreateSweepSchema.properties, {
  additionalProperties: false,
  examples: [
    {
      name: 'digits 5-9 head search',
      job: { type: 'finetune', baseModelId: EXAMPLE_ID, trainDatasetId: '5f1d2c3b-4a59-4e68-8f7a-9b0c1d2e3f40', freeze: 'all', hyperparameters: { epochs: 9 } },
      method: 'grid',
      space: { learningRate: [0.001, 0.01, 0.1], headUnits: [32, 128] },
      objective: { metric: 'valAccuracy' },
      parallelism: 2,
      earlyStopping: { minEpochs: 1, reductionFactor: 3 },
    },
  ],
});

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const SweepStatusSchema = Type.Union(['running', 'succeeded', 'failed', 'cancelled'].map((s) => Type.Literal(s)));

export const SweepTrialSchema = Type.Object({
  index: Type.Integer({ description: 'The trial\'s place in the plan (grid order, or draw order)' }),
  jobId: Nullable(Uuid),
  status: Type.Union([Type.Literal('pending'), JobStatusSchema], { description: 'pending: planned, not started yet; else its job\'s status' }),
  params: Type.Record(Type.String(), Type.Unknown(), { description: 'The trial\'s value of each dimension of the space' }),
  objective: Nullable(Type.Number({ description: 'Its best epoch\'s value of the objective metric (the epoch its model keeps)' })),
  bestEpoch: Nullable(Type.Integer()),
  epochsRun: Type.Integer(),
  stoppedEarly: Type.Boolean({ description: 'ASHA stopped it at a rung (prunedAtEpoch); its job still succeeded, with the epochs it ran' }),
  prunedAtEpoch: Nullable(Type.Integer()),
  features: Nullable(Type.Union([Type.Literal('computed'), Type.Literal('reused')], { description: 'Where its frozen base\'s features came from; null: none used' })),
  compute: Nullable(TrialComputeSchema),
  outputModelId: Nullable(Uuid),
});
export type SweepTrialView = Static<typeof SweepTrialSchema>;

export const SweepSchema = Type.Object(
  {
    id: Uuid,
    name: Nullable(Type.String()),
    status: SweepStatusSchema,
    method: Type.Union([Type.Literal('grid'), Type.Literal('random')]),
    space: Type.Record(Type.String(), Type.Unknown()),
    objective: Type.Object({ metric: ObjectiveSchema.properties.metric, direction: Type.Union([Type.Literal('max'), Type.Literal('min')]) }),
    maxTrials: Type.Integer({ description: 'Trials planned' }),
    parallelism: Type.Integer(),
    seed: Type.Integer(),
    earlyStopping: Type.Union([Type.Literal(false), AshaSchema]),
    trials: Type.Object({
      pending: Type.Integer(), queued: Type.Integer(), running: Type.Integer(), paused: Type.Integer(),
      succeeded: Type.Integer(), failed: Type.Integer(), cancelled: Type.Integer(), stoppedEarly: Type.Integer(),
    }),
    featurePasses: Type.Object(
      { computed: Type.Integer(), reused: Type.Integer() },
      { description: 'Trials on a frozen base whose features were computed, and those that read them from the feature cache' },
    ),
    leaderboard: Type.Array(SweepTrialSchema, { description: 'Every trial: those with an objective best first, then the rest in plan order' }),
    bestTrial: Nullable(SweepTrialSchema),
    outputModelId: Nullable(Type.String({ description: 'The best trial\'s model: the sweep\'s output model' })),
    computeUsed: Type.Number({ description: 'Σ of the trials\' exampleLayers' }),
    error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()], {
      description: 'Why a failed sweep failed: no_trial_succeeded (the message counts the trials\' ends and names the first failure) or sweep_trial_unstartable; null otherwise',
    }),
    cancelRequestedAt: NullableTimestamp,
    createdAt: Timestamp,
    finishedAt: NullableTimestamp,
  },
  { $id: 'Sweep' },
);
export type SweepResponse = Static<typeof SweepSchema>;

export const SweepPage = Page(Type.Ref('Sweep'));
export const sweepListQuery = (maxPageSize: number) =>
  Type.Composite([pageQuery(maxPageSize), Type.Object({ status: Type.Optional(SweepStatusSchema) })], { additionalProperties: false });
export type SweepListQuery = Static<ReturnType<typeof sweepListQuery>>;
