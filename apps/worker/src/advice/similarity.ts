// How familiar the task data looks to the base: the entropy of the base's own
// output distribution on the task's examples, normalised by log(base classes)
// and subtracted from 1. 1: the base is as sure about these inputs as about
// its own data (every example looks like one of its classes); 0: its outputs
// are uniform (nothing it was trained on). It is a property of the inputs,
// not of the task's labels: labels are what LogME and the probe measure.
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { predictBatched } from '../pipeline/scoring.ts';

export interface Similarity {
  /** 1 − mean normalised output entropy, in [0, 1]. */
  value: number;
  /** The mean normalised entropy itself. */
  meanEntropy: number;
  baseClasses: number;
}

export async function outputSimilarity(base: LayersModel, x: Tensor): Promise<Similarity> {
  const probs = predictBatched(base, x);
  const [n, k] = probs.shape as [number, number];
  const p = (await probs.data()) as Float32Array;
  probs.dispose();
  if (k < 2) return { value: 1, meanEntropy: 0, baseClasses: k };
  let total = 0;
  for (let r = 0; r < n; r++) {
    const row = distribution(p.subarray(r * k, (r + 1) * k));
    let h = 0;
    for (const q of row) if (q > 0) h -= q * Math.log(q);
    total += h / Math.log(k);
  }
  const meanEntropy = n === 0 ? 0 : total / n;
  return { value: 1 - meanEntropy, meanEntropy, baseClasses: k };
}

/** The row itself when it is a probability distribution (a softmax output), else its softmax (logits). */
function distribution(row: Float32Array): Float64Array {
  let sum = 0;
  let min = Infinity;
  for (const v of row) {
    sum += v;
    min = Math.min(min, v);
  }
  if (min >= 0 && Math.abs(sum - 1) < 1e-3) return Float64Array.from(row);
  const max = Math.max(...row);
  const e = Float64Array.from(row, (v) => Math.exp(v - max));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}
