// The claims of fine-tuning, measured: the same architecture trained from
// random initialisation on the same data and budget, side by side.
import type { LayersModel } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import type { Evaluation } from './evaluate.ts';
import type { ModelParts } from './freeze.ts';
import type { TrainResult } from './train.ts';

export interface RunSummary {
  testAccuracy: number;
  testLoss: number;
  wallTimeMs: number;
  /** First epoch whose validation accuracy reached the target; null if none did. */
  epochsToTarget: number | null;
  valAccuracyByEpoch: Array<number | null>;
}

export interface Comparison {
  targetValAccuracy: number;
  fineTuned: RunSummary;
  scratch: RunSummary;
}

/** A fresh copy of the model's architecture, every layer trainable, weights newly initialised. */
export async function fromScratch(model: LayersModel): Promise<ModelParts> {
  const fresh = await tf.models.modelFromJSON({ modelTopology: model.toJSON(null, false) as never });
  for (const layer of fresh.layers) layer.trainable = true;
  return { head: fresh, model: fresh, baseBlocks: [], freeze: 'none' };
}

function summary(target: number, run: { evaluation: Evaluation; train: TrainResult }): RunSummary {
  const byEpoch = run.train.epochs.map((e) => e.valAccuracy);
  const hit = byEpoch.findIndex((a) => a !== null && a >= target);
  return {
    testAccuracy: run.evaluation.accuracy,
    testLoss: run.evaluation.loss,
    wallTimeMs: run.train.wallTimeMs,
    epochsToTarget: hit < 0 ? null : hit + 1,
    valAccuracyByEpoch: byEpoch,
  };
}

export function compare(target: number, fineTuned: { evaluation: Evaluation; train: TrainResult }, scratch: { evaluation: Evaluation; train: TrainResult }): Comparison {
  return { targetValAccuracy: target, fineTuned: summary(target, fineTuned), scratch: summary(target, scratch) };
}
