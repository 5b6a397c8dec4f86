// Stage 4, evaluate: loss, accuracy, per-class precision/recall/F1 and the
// confusion matrix on held-out data.
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';

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
  const k = labels.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const n = x.shape[0];
  let lossSum = 0;
  // One pass over the data: predictions give both the confusion matrix and the
  // categorical cross-entropy, so the model need not be compiled.
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const probs = tf.tidy(() => (model.predict(x.slice(start, size)) as Tensor).clipByValue(1e-7, 1 - 1e-7));
    const p = (await probs.data()) as Float32Array;
    probs.dispose();
    for (let i = 0; i < size; i++) {
      const row = p.subarray(i * k, (i + 1) * k);
      let best = 0;
      for (let c = 1; c < k; c++) if (row[c] > row[best]) best = c;
      const truth = classes[start + i];
      confusion[truth][best]++;
      lossSum -= Math.log(row[truth]);
    }
  }
  const correct = confusion.reduce((s, row, i) => s + row[i], 0);
  const loss = n === 0 ? 0 : lossSum / n;
  const accuracy = n === 0 ? 0 : correct / n;
  return { split, numExamples: n, loss, accuracy, perClass: classMetrics(confusion, labels), confusionMatrix: confusion, labels };
}
