// Tiny models and data for pipeline tests that need no services.
import { DEFAULT_HYPERPARAMETERS, type Hyperparameters } from '../../apps/shared/jobs/spec.ts';
import { tf } from '../../apps/shared/ml/tf.ts';
import { buildModel } from '../../apps/worker/src/pipeline/build.ts';
import type { TrainData } from '../../apps/worker/src/pipeline/train.ts';

export const noHooks = { shouldStop: () => false as const, onEpochEnd: async () => undefined };

/** 6 features → 8 → 8 → 3 classes; tanh, so no unit dies and every layer gets gradients. */
export function tinyBase() {
  return buildModel([6], [
    { type: 'dense', units: 8, activation: 'tanh', name: 'hidden1' },
    { type: 'dense', units: 8, activation: 'tanh', name: 'hidden2' },
    { type: 'dense', units: 3, activation: 'softmax', name: 'out' },
  ], 3).model;
}

export function weightBytes(model: tf.LayersModel, names: string[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of names) {
    model.getLayer(name).getWeights().forEach((w, i) => out.set(`${name}/${i}`, Buffer.from((w.dataSync() as Float32Array).slice().buffer)));
  }
  return out;
}

/** Separable toy data: class c shifts feature c. */
export function toyData(n: number, classes: number, seed = 1, withValidation = false): TrainData {
  const make = (count: number, s: number) => {
    const labels = Int32Array.from({ length: count }, (_, i) => i % classes);
    const x = tf.tidy(() => tf.randomNormal([count, 6], 0, 1, 'float32', s).add(tf.oneHot(tf.tensor1d(labels, 'int32'), 6).mul(2)));
    return { x, labels };
  };
  const train = make(n, seed);
  const val = withValidation ? make(Math.ceil(n / 4), seed + 100) : undefined;
  return {
    x: train.x,
    y: tf.tidy(() => tf.oneHot(tf.tensor1d(train.labels, 'int32'), classes).toFloat()),
    classes: train.labels,
    valX: val?.x,
    valClasses: val?.labels,
  };
}

/** 8x8 images, one bright pixel per class: a conv net learns it quickly. */
export function images(n: number, classes = 3): TrainData {
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  const x = tf.tidy(() => tf.randomUniform([n, 8, 8, 1], 0, 0.5, 'float32', 11).add(tf.oneHot(tf.tensor1d(labels, 'int32'), 64).reshape([n, 8, 8, 1])));
  return { x, y: tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), classes).toFloat()), classes: labels };
}

export function disposeData(d: TrainData) {
  tf.dispose([d.x, d.y, ...(d.valX ? [d.valX] : [])]);
}

export const hp = (over: Partial<Hyperparameters>): Hyperparameters => ({ ...DEFAULT_HYPERPARAMETERS, validationSplit: 0, ...over });
