// The examples training, feature extraction, evaluation and the baseline read:
// batches as tensors from a split held in memory (one tensor, gathered per
// batch) or streamed from shards (batches.ts: block-shuffled, prefetched). Both
// give each example's index (ids) for per-example randomness, and both restart
// at any batch of an epoch from (seed, epoch) alone.
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import { epochBatches, type StreamStats } from '../../../shared/data/stream/batches.ts';
import type { SplitSource } from '../../../shared/data/stream/split.ts';
import { shuffledIndices } from './seed.ts';

export interface TensorBatch {
  /** 0-based within the epoch. */
  index: number;
  x: Tensor;
  /** One-hot. */
  y: Tensor;
  classes: Int32Array;
  /** Each example's index in the split's storage order. */
  ids: Int32Array;
}

export interface BatchOptions {
  batchSize: number;
  seed: number;
  epoch: number;
  /** false: storage order (evaluation, features). Default true. */
  shuffle?: boolean;
  startBatch?: number;
}

export interface ExampleSplit {
  numExamples: number;
  featureShape: number[];
  classes: Int32Array;
  /** The whole split as one tensor, when it is held in memory. */
  tensor?: Tensor;
  /** The caller disposes each batch's x and y. */
  batches(opts: BatchOptions): AsyncGenerator<TensorBatch>;
  /** Time spent waiting on shard reads, summed over every stream of this split. */
  stats: StreamStats;
}

const oneHot = (classes: Int32Array, k: number) => tf.tidy(() => tf.oneHot(tf.tensor1d(classes, 'int32'), k).toFloat());

/** A split held in memory: the order per epoch is a seeded permutation of all its examples. */
export function tensorSplit(x: Tensor, classes: Int32Array, numClasses: number): ExampleSplit {
  const n = x.shape[0];
  return {
    numExamples: n,
    featureShape: x.shape.slice(1),
    classes,
    tensor: x,
    stats: { waitMs: 0, shardsRead: 0, maxResidentShards: 0 },
    async *batches(o) {
      const order = o.shuffle === false ? Int32Array.from({ length: n }, (_, i) => i) : shuffledIndices(n, o.seed + o.epoch + 1);
      for (let b = o.startBatch ?? 0; b * o.batchSize < n; b++) {
        const ids = order.slice(b * o.batchSize, Math.min(n, (b + 1) * o.batchSize));
        const rows = Int32Array.from(ids, (i) => classes[i]);
        const xb = tf.tidy(() => tf.gather(x, tf.tensor1d(ids, 'int32')));
        yield { index: b, x: xb, y: oneHot(rows, numClasses), classes: rows, ids };
      }
    },
  };
}

/** A split read from its shards a window at a time (prefetching the next while this one trains). */
export function streamSplit(src: SplitSource, numClasses: number): ExampleSplit {
  const stats: StreamStats = { waitMs: 0, shardsRead: 0, maxResidentShards: 0 };
  return {
    numExamples: src.numExamples,
    featureShape: src.featureShape,
    classes: src.classes,
    stats,
    async *batches(o) {
      for await (const b of epochBatches(src, { ...o }, stats)) {
        // Training and the base's forward pass block the event loop: a turn per batch lets the
        // prefetched shard reads (socket I/O) progress while the previous batch computes.
        await new Promise((r) => setImmediate(r));
        yield { index: b.index, x: tf.tensor(b.features, [b.classes.length, ...src.featureShape]), y: oneHot(b.classes, numClasses), classes: b.classes, ids: b.ids };
      }
    },
  };
}

/** The model's outputs for every example of the split, in storage order, as one tensor (features are small next to images). */
export async function mapSplit(split: ExampleSplit, fn: (x: Tensor) => Promise<Tensor>): Promise<Tensor> {
  if (split.tensor) return fn(split.tensor);
  // About 16 MiB of inputs a batch: large images in small batches, so the backend's memory stays small too.
  const batchSize = Math.max(32, Math.min(512, Math.floor(2 ** 24 / (4 * split.featureShape.reduce((a, b) => a * b, 1)))));
  let out: Float32Array | undefined;
  let shape: number[] = [];
  let at = 0;
  for await (const b of split.batches({ batchSize, seed: 0, epoch: 0, shuffle: false })) {
    const y = await fn(b.x);
    tf.dispose([b.x, b.y]);
    const data = (await y.data()) as Float32Array;
    shape = y.shape.slice(1);
    y.dispose();
    out ??= new Float32Array(split.numExamples * (data.length / b.classes.length));
    out.set(data, at);
    at += data.length;
  }
  return tf.tensor(out ?? new Float32Array(0), [split.numExamples, ...shape]);
}
