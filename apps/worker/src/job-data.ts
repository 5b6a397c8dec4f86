// Turns a job's datasets into splits the stages read in batches: training,
// validation (a dataset, or a seeded split of the training data) and the
// held-out set for evaluation. Every source is a SplitSource (shards); a split
// whose decoded floats fit DATA_IN_MEMORY_BYTES is read whole into a tensor
// (fast for small data), a larger one is streamed from its shards.
import { createHash } from 'node:crypto';
import { tf } from '../../shared/ml/tf.ts';
import { loadLabeledExamples, type StoredSource } from '../../shared/data/dataset-source.ts';
import { imageShards } from '../../shared/data/stream/image-shards.ts';
import { floatBytes, memorySource, readAll, splitSide, type SplitSource } from '../../shared/data/stream/split.ts';
import type { Storage } from '../../shared/storage/s3-storage.ts';
import { shuffledIndices } from './pipeline/seed.ts';
import { streamSplit, tensorSplit, type ExampleSplit } from './pipeline/splits.ts';

export interface DatasetRef {
  source: StoredSource;
}

export interface Split extends ExampleSplit {
  /** sha256 of the examples as the model sees them (in memory: shape and float32 values; streamed: the shards' digests and scaling, and the side of a split). */
  digest: string;
}

export interface JobData {
  train: Split;
  validation?: Split;
  /** Scored by the evaluate stage: the test set, else the validation data. */
  holdout?: { split: 'test' | 'validation'; data: Split };
  featureShape: number[];
  /** True when the training split is read from its shards a window at a time. */
  streamed: boolean;
  dispose(): void;
}

/** What a frozen base's features depend on: the exact inputs, whatever dataset they came from. */
export function examplesDigest(features: Float32Array, shape: number[]): string {
  return createHash('sha256').update(JSON.stringify(shape)).update(new Uint8Array(features.buffer, features.byteOffset, features.byteLength)).digest('hex');
}

/** A dataset as shards: images are registered as shards in S3; MNIST and parsed tabular data are shards of memory. */
export async function splitSource(source: StoredSource, storage: Storage, labels: string[]): Promise<SplitSource> {
  if (source.type === 'images') return imageShards(source, storage, labels);
  const ex = await loadLabeledExamples(source, storage, labels);
  return memorySource(ex.features, ex.featureShape, ex.classes, examplesDigest(ex.features, [ex.classes.length, ...ex.featureShape]));
}

interface InMemory {
  features: Float32Array;
  classes: Int32Array;
}

function gather(ex: InMemory, size: number, indices: ArrayLike<number>): InMemory {
  const features = new Float32Array(indices.length * size);
  const classes = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i];
    features.set(ex.features.subarray(src * size, (src + 1) * size), i * size);
    classes[i] = ex.classes[src];
  }
  return { features, classes };
}

function inMemory(ex: InMemory, featureShape: number[], numClasses: number): Split {
  const shape = [ex.classes.length, ...featureShape];
  return { ...tensorSplit(tf.tensor(ex.features, shape), ex.classes, numClasses), digest: examplesDigest(ex.features, shape) };
}

const streamed = (src: SplitSource, numClasses: number): Split => ({ ...streamSplit(src, numClasses), digest: src.digest });

export interface LoadOptions {
  validation?: DatasetRef;
  test?: DatasetRef;
  validationSplit: number;
  seed: number;
  /** A split of at most this many bytes of float32 is held in memory. @defaultValue 256 MiB */
  inMemoryBytes?: number;
}

/** Training and validation: in memory, a seeded permutation splits them; streamed, a seeded hash of each example's index. */
async function trainAndValidation(src: SplitSource, k: number, opts: LoadOptions, limit: number, storage: Storage, labels: string[]) {
  const validationSrc = opts.validation ? await splitSource(opts.validation.source, storage, labels) : undefined;
  const fraction = validationSrc ? 0 : opts.validationSplit;
  if (floatBytes(src) > limit) {
    const train = fraction > 0 ? splitSide(src, opts.seed, fraction, 'train') : src;
    const val = validationSrc ?? (fraction > 0 ? splitSide(src, opts.seed, fraction, 'validation') : undefined);
    return { train: streamed(train, k), validation: val && val.numExamples > 0 ? load(val, k, limit) : undefined, streamed: true };
  }
  const all = await readAll(src);
  let trainEx = all;
  let valEx: InMemory | undefined;
  const nVal = Math.floor(all.classes.length * fraction);
  if (nVal > 0) {
    const order = shuffledIndices(all.classes.length, opts.seed);
    valEx = gather(all, src.featureSize, order.subarray(0, nVal));
    trainEx = gather(all, src.featureSize, order.subarray(nVal));
  }
  const validation = validationSrc ? load(validationSrc, k, limit) : valEx ? Promise.resolve(inMemory(valEx, src.featureShape, k)) : undefined;
  return { train: inMemory(trainEx, src.featureShape, k), validation, streamed: false };
}

async function load(src: SplitSource, k: number, limit: number): Promise<Split> {
  return floatBytes(src) > limit ? streamed(src, k) : inMemory(await readAll(src), src.featureShape, k);
}

export async function loadJobData(storage: Storage, labels: string[], trainRef: DatasetRef, opts: LoadOptions): Promise<JobData> {
  const k = labels.length;
  const limit = opts.inMemoryBytes ?? 256 * 2 ** 20;
  const src = await splitSource(trainRef.source, storage, labels);
  const tv = await trainAndValidation(src, k, opts, limit, storage, labels);
  const validation = await tv.validation;
  const test = opts.test ? await load(await splitSource(opts.test.source, storage, labels), k, limit) : undefined;
  const holdout = test ? { split: 'test' as const, data: test } : validation ? { split: 'validation' as const, data: validation } : undefined;
  const splits = [tv.train, validation, test].filter((s): s is Split => s !== undefined);
  return {
    train: tv.train,
    validation,
    holdout,
    featureShape: src.featureShape,
    streamed: tv.streamed,
    dispose: () => tf.dispose(splits.flatMap((s) => (s.tensor ? [s.tensor] : []))),
  };
}
