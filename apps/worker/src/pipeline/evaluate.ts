// Stage 4, evaluate: loss, accuracy, per-class precision/recall/F1 and the
// confusion matrix on held-out data.
import type { LayersModel, Scalar, Tensor } from '@tensorflow/tfjs';
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
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(classes, 'int32'), k));
  const [lossT, accT] = model.evaluate(x, y, { batchSize }) as Scalar[];
  const loss = (await lossT.data())[0];
  const accuracy = (await accT.data())[0];
  tf.dispose([y, lossT, accT]);

  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const n = x.shape[0];
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const predicted = tf.tidy(() => (model.predict(x.slice(start, size)) as Tensor).argMax(-1));
    const p = await predicted.data();
    predicted.dispose();
    for (let i = 0; i < size; i++) confusion[classes[start + i]][p[i]]++;
  }
  return { split, numExamples: n, loss, accuracy, perClass: classMetrics(confusion, labels), confusionMatrix: confusion, labels };
}
