// Turns a job's datasets into tensors: training, validation (a dataset, or a
// seeded split of the training data) and the held-out set for evaluation.
import { createHash } from 'node:crypto';
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../../shared/ml/tf.ts';
import { loadLabeledExamples, type LabeledExamples, type StoredSource } from '../../shared/data/dataset-source.ts';
import type { Storage } from '../../shared/storage/s3-storage.ts';
import { shuffledIndices } from './pipeline/seed.ts';

export interface DatasetRef {
  source: StoredSource;
}

export interface Split {
  x: Tensor;
  y: Tensor;
  classes: Int32Array;
  /** sha256 of the examples as the model sees them (shape and float32 values, after parsing and scaling). */
  digest: string;
}

export interface JobData {
  train: Split;
  validation?: Split;
  /** Scored by the evaluate stage: the test set, else the validation data. */
  holdout?: { split: 'test' | 'validation'; data: Split };
  featureShape: number[];
  dispose(): void;
}

function gather(ex: LabeledExamples, indices: ArrayLike<number>): LabeledExamples {
  const size = ex.featureShape.reduce((a, b) => a * b, 1);
  const features = new Float32Array(indices.length * size);
  const classes = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i];
    features.set(ex.features.subarray(src * size, (src + 1) * size), i * size);
    classes[i] = ex.classes[src];
  }
  return { features, featureShape: ex.featureShape, classes };
}

/** What a frozen base's features depend on: the exact inputs, whatever dataset they came from. */
export function examplesDigest(features: Float32Array, shape: number[]): string {
  return createHash('sha256').update(JSON.stringify(shape)).update(new Uint8Array(features.buffer, features.byteOffset, features.byteLength)).digest('hex');
}

function toSplit(ex: LabeledExamples, numClasses: number): Split {
  const shape = [ex.classes.length, ...ex.featureShape];
  const x = tf.tensor(ex.features, shape);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(ex.classes, 'int32'), numClasses).toFloat());
  return { x, y, classes: ex.classes, digest: examplesDigest(ex.features, shape) };
}

export async function loadJobData(
  storage: Storage,
  labels: string[],
  train: DatasetRef,
  opts: { validation?: DatasetRef; test?: DatasetRef; validationSplit: number; seed: number },
): Promise<JobData> {
  const k = labels.length;
  const all = await loadLabeledExamples(train.source, storage, labels);
  let trainEx = all;
  let valEx: LabeledExamples | undefined;
  if (opts.validation) {
    valEx = await loadLabeledExamples(opts.validation.source, storage, labels);
  } else if (opts.validationSplit > 0) {
    const order = shuffledIndices(all.classes.length, opts.seed);
    const nVal = Math.floor(all.classes.length * opts.validationSplit);
    if (nVal > 0) {
      valEx = gather(all, order.subarray(0, nVal));
      trainEx = gather(all, order.subarray(nVal));
    }
  }
  const testEx = opts.test ? await loadLabeledExamples(opts.test.source, storage, labels) : undefined;

  const trainSplit = toSplit(trainEx, k);
  const validation = valEx ? toSplit(valEx, k) : undefined;
  const test = testEx ? toSplit(testEx, k) : undefined;
  const holdout = test ? { split: 'test' as const, data: test } : validation ? { split: 'validation' as const, data: validation } : undefined;
  const splits = [trainSplit, validation, test].filter((s): s is Split => s !== undefined);
  return {
    train: trainSplit,
    validation,
    holdout,
    featureShape: all.featureShape,
    dispose: () => splits.forEach((s) => tf.dispose([s.x, s.y])),
  };
}
