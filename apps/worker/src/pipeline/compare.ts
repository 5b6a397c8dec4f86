// The claims of fine-tuning, measured: the same architecture trained from
// random initialisation on the same data and budget, side by side.
import type { LayersModel } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import type { Evaluation } from './evaluate.ts';
import { disposeParts, type ModelParts } from './freeze.ts';
import { withSeededRandom } from './seed.ts';
import { train, type SplitData, type TrainData, type TrainHooks, type TrainOptions, type TrainResult } from './train.ts';

// The comparison's shape is the job contract's (apps/shared/jobs/evaluation.ts).
export type { Comparison, RunSummary } from '../../../shared/jobs/evaluation.ts';
import type { Comparison, RunSummary } from '../../../shared/jobs/evaluation.ts';

/** The baseline's own seed: not the job's, whose stream built the fine-tuned head (and maybe the base). */
export function scratchSeed(seed: number): number {
  return (Math.imul(seed ^ 0x5c7a7c41, 0x9e3779b1) + 0x632be5ab) >>> 0;
}

/**
 * A fresh copy of the model's architecture, every layer trainable, weights
 * newly initialised from scratchSeed(seed): the same whatever was drawn before.
 */
export async function fromScratch(model: LayersModel, seed: number): Promise<ModelParts> {
  const topology = model.toJSON(null, false);
  if (typeof topology === 'string') throw new Error('toJSON(null, false) returned a string');
  const fresh = await withSeededRandom(scratchSeed(seed), () => tf.models.modelFromJSON({ modelTopology: topology }));
  for (const layer of fresh.layers) layer.trainable = true;
  return { head: fresh, model: fresh, baseBlocks: [], freeze: 'none' };
}

/**
 * The baseline run: the architecture from scratch, trained on the same data,
 * in the same order (the same seed and hyperparameters) and for the same
 * budget as the fine-tuned model. The caller disposes the parts.
 */
export async function trainFromScratch(model: LayersModel, data: TrainData | SplitData, opts: Pick<TrainOptions, 'hp' | 'labels' | 'peers' | 'augment'>, hooks: TrainHooks): Promise<{ parts: ModelParts; result: TrainResult }> {
  const parts = await fromScratch(model, opts.hp.seed);
  try {
    return { parts, result: await train(parts, data, { hp: opts.hp, labels: opts.labels, peers: opts.peers, augment: opts.augment }, hooks) };
  } catch (err) {
    disposeParts(parts);
    throw err;
  }
}

function summary(target: number, run: { evaluation: Evaluation; train: TrainResult }): RunSummary {
  const byEpoch = run.train.epochs.map((e) => e.valAccuracy);
  const hit = byEpoch.findIndex((a) => a !== null && a >= target);
  return {
    testAccuracy: run.evaluation.accuracy,
    testLoss: run.evaluation.loss,
    // Like with like: only the fine-tuned run writes checkpoints, so neither side counts them.
    wallTimeMs: run.train.wallTimeMs - run.train.epochEndMs,
    epochsToTarget: hit < 0 ? null : hit + 1,
    valAccuracyByEpoch: byEpoch,
  };
}

export function compare(target: number, fineTuned: { evaluation: Evaluation; train: TrainResult }, scratch: { evaluation: Evaluation; train: TrainResult }): Comparison {
  return { targetValAccuracy: target, fineTuned: summary(target, fineTuned), scratch: summary(target, scratch) };
}
