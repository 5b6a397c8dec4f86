// Stage 4, evaluate: loss, accuracy, per-class precision/recall/F1 and the
// confusion matrix on held-out data.
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { score, scoreSplit } from './scoring.ts';
import type { ExampleSplit } from './splits.ts';

// The evaluation's shape is the job contract's (apps/shared/jobs/evaluation.ts).
export type { ClassMetrics, Evaluation } from '../../../shared/jobs/evaluation.ts';
import type { ClassMetrics, Evaluation } from '../../../shared/jobs/evaluation.ts';

export function classMetrics(confusion: number[][], labels: string[]): ClassMetrics[] {
  return labels.map((label, c) => {
    const tp = confusion[c][c];
    const support = confusion[c].reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[c], 0);
    const precision = predicted === 0 ? 0 : tp / predicted;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { label, precision, recall, f1, support };
  });
}

export async function evaluate(
  model: LayersModel,
  x: Tensor,
  classes: Int32Array,
  labels: string[],
  split: Evaluation['split'],
  batchSize = 256,
): Promise<Evaluation> {
  const { loss, accuracy, confusion } = await score(model, x, classes, labels.length, batchSize);
  const n = x.shape[0];
  return { split, numExamples: n, loss, accuracy, perClass: classMetrics(confusion, labels), confusionMatrix: confusion, labels };
}

/** The same over a split read in batches (streamed when it is large). */
export async function evaluateSplit(model: LayersModel, data: ExampleSplit, labels: string[], split: Evaluation['split'], batchSize = 256): Promise<Evaluation> {
  const { loss, accuracy, confusion } = await scoreSplit(model, data, labels.length, batchSize);
  return { split, numExamples: data.numExamples, loss, accuracy, perClass: classMetrics(confusion, labels), confusionMatrix: confusion, labels };
}
