// Loss and accuracy from predicted probabilities, in batches, inference mode.
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import type { ExampleSplit } from './splits.ts';

export interface Scores {
  loss: number;
  accuracy: number;
  /** rows: true class, columns: predicted class. */
  confusion: number[][];
}

/** Adds one batch's predictions to the confusion matrix; returns its summed loss. */
async function tally(model: LayersModel, x: Tensor, classes: ArrayLike<number>, confusion: number[][]): Promise<number> {
  const k = confusion.length;
  const probs = tf.tidy(() => (model.predict(x) as Tensor).clipByValue(1e-7, 1 - 1e-7));
  const p = (await probs.data()) as Float32Array;
  probs.dispose();
  let lossSum = 0;
  for (let i = 0; i < classes.length; i++) {
    const row = p.subarray(i * k, (i + 1) * k);
    let best = 0;
    for (let c = 1; c < k; c++) if (row[c] > row[best]) best = c;
    const truth = classes[i];
    confusion[truth][best]++;
    lossSum -= Math.log(row[truth]);
  }
  return lossSum;
}

function scores(lossSum: number, confusion: number[][], n: number): Scores {
  const correct = confusion.reduce((s, row, i) => s + row[i], 0);
  return { loss: n === 0 ? 0 : lossSum / n, accuracy: n === 0 ? 0 : correct / n, confusion };
}

export async function score(model: LayersModel, x: Tensor, classes: Int32Array, numClasses: number, batchSize = 256): Promise<Scores> {
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  const n = x.shape[0];
  let lossSum = 0;
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const xb = x.slice(start, size);
    lossSum += await tally(model, xb, classes.subarray(start, start + size), confusion);
    xb.dispose();
  }
  return scores(lossSum, confusion, n);
}

/** The same scores over a split read in batches (held in memory, or streamed in storage order). */
export async function scoreSplit(model: LayersModel, split: ExampleSplit, numClasses: number, batchSize = 256): Promise<Scores> {
  if (split.tensor) return score(model, split.tensor, split.classes, numClasses, batchSize);
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let lossSum = 0;
  for await (const b of split.batches({ batchSize, seed: 0, epoch: 0, shuffle: false })) {
    lossSum += await tally(model, b.x, b.classes, confusion);
    tf.dispose([b.x, b.y]);
  }
  return scores(lossSum, confusion, split.numExamples);
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
