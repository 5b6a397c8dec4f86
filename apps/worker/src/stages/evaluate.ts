// Stage: evaluate. The trained model on held-out data (the test set, else the
// validation data) and, with a baseline, the two side by side.
import { compare, type Comparison } from '../pipeline/compare.ts';
import { evaluateSplit, type Evaluation } from '../pipeline/evaluate.ts';
import type { TrainResult } from '../pipeline/train.ts';
import type { BaseFeatures } from './base-features.ts';
import type { Baseline } from './baseline.ts';
import type { Built } from './build.ts';
import type { StageContext } from './context.ts';
import type { Prepared } from './prepare-data.ts';

export type JobEvaluation = Evaluation & { comparison?: Comparison };

/** What the seeded stages (build to baseline) produced. */
export interface Trained {
  built: Built;
  features: BaseFeatures | null;
  main: TrainResult;
  baseline: Baseline | null;
  /** The training data was streamed from shards. */
  streamed: boolean;
  /** Time the feature pass and training waited on shard reads (streamed training and validation splits). */
  dataWaitMs: number;
}

export async function evaluateStage(s: StageContext, prepared: Prepared, trained: Trained): Promise<JobEvaluation | null> {
  await s.records.setStage('evaluate');
  const holdout = prepared.data.holdout;
  if (!holdout) return null;
  const { labels, hyperparameters: hp } = s.spec;
  const score = (parts: Built['parts']) => evaluateSplit(parts.model, holdout.data, labels, holdout.split, hp.batchSize);
  const evaluation: JobEvaluation = await score(trained.built.parts);
  if (trained.baseline) {
    const scratch = { evaluation: await score(trained.baseline.parts), train: trained.baseline.result };
    const fineTuned = { ...trained.main, wallTimeMs: Math.round(trained.main.wallTimeMs + (trained.features?.ms ?? 0)) };
    evaluation.comparison = compare(s.spec.targetValAccuracy, { evaluation, train: fineTuned }, scratch);
  }
  return evaluation;
}
