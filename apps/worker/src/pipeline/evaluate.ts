// Stage 4, evaluate: loss, accuracy, per-class precision/recall/F1 and the
// confusion matrix on held-out data.
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { score } from './scoring.ts';

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface Evaluation {
  /** Which data was scored: the test set, or the validation data when the job named no test set. */
  split: 'test' | 'validation';
  numExamples: number;
  loss: number;
  accuracy: number;
  perClass: ClassMetrics[];
  /** rows: true class, columns: predicted class, in label order. */
  confusionMatrix: number[][];
  labels: string[];
}

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
