// Loss and accuracy from predicted probabilities, in batches, inference mode.
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';

export interface Scores {
  loss: number;
  accuracy: number;
  /** rows: true class, columns: predicted class. */
  confusion: number[][];
}

export async function score(model: LayersModel, x: Tensor, classes: Int32Array, numClasses: number, batchSize = 256): Promise<Scores> {
  const k = numClasses;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const n = x.shape[0];
  let lossSum = 0;
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
  return { loss: n === 0 ? 0 : lossSum / n, accuracy: n === 0 ? 0 : correct / n, confusion };
}

/** The model's outputs for x, in batches: how a frozen base's features are computed once. */
export function predictBatched(model: LayersModel, x: Tensor, batchSize = 256): Tensor {
  const n = x.shape[0];
  const chunks: Tensor[] = [];
  for (let start = 0; start < n; start += batchSize) {
    chunks.push(tf.tidy(() => model.predict(x.slice(start, Math.min(batchSize, n - start))) as Tensor));
  }
  const out = tf.concat(chunks);
  tf.dispose(chunks);
  return out;
}
