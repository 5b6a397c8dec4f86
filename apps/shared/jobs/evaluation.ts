// The job's evaluation column, defined once: the worker writes it, the API
// documents and serves it, the client reads it.
import { Type, type Static } from '@sinclair/typebox';

// Open objects (additionalProperties): documented and checked, yet nothing the worker adds is dropped.
const open = { additionalProperties: true };
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

export const ClassMetricsSchema = Type.Object(
  { label: Type.String(), precision: Type.Number(), recall: Type.Number(), f1: Type.Number(), support: Type.Integer() },
  open,
);
export type ClassMetrics = Static<typeof ClassMetricsSchema>;

export const RunSummarySchema = Type.Object(
  {
    testAccuracy: Type.Number(),
    testLoss: Type.Number(),
    wallTimeMs: Type.Number({ description: 'Training wall time (for the fine-tuned model, with getting the base features); checkpoint writes, which only the fine-tuned run makes, are not counted' }),
    epochsToTarget: Type.Union([Type.Integer(), Type.Null()], { description: 'First epoch whose validation accuracy reached targetValAccuracy' }),
    valAccuracyByEpoch: Type.Array(NullableNumber),
  },
  open,
);
export type RunSummary = Static<typeof RunSummarySchema>;

export const ComparisonSchema = Type.Object(
  { targetValAccuracy: Type.Number(), fineTuned: RunSummarySchema, scratch: RunSummarySchema },
  { ...open, description: 'With compareWithScratch: the same architecture trained from random weights' },
);
export type Comparison = Static<typeof ComparisonSchema>;

export const EvaluationSchema = Type.Object(
  {
    split: Type.Union([Type.Literal('test'), Type.Literal('validation')], { description: 'The test set, or the validation data when the job named no test set' }),
    numExamples: Type.Integer(),
    loss: Type.Number(),
    accuracy: Type.Number(),
    perClass: Type.Array(ClassMetricsSchema),
    confusionMatrix: Type.Array(Type.Array(Type.Integer()), { description: 'Rows: true class; columns: predicted class; in label order' }),
    labels: Type.Array(Type.String()),
    comparison: Type.Optional(ComparisonSchema),
  },
  open,
);
/** Scores on held-out data, with the scratch comparison when the job asked for one. */
export type Evaluation = Static<typeof EvaluationSchema>;
