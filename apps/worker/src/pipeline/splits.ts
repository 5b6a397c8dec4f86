// The examples training, feature extraction, evaluation and the baseline read:
// batches as tensors from a split held in memory (one tensor, gathered per
// batch) or streamed from shards (batches.ts: block-shuffled, prefetched). Both
// give each example's index (ids) for per-example randomness, and both restart
// at any batch of an epoch from (seed, epoch) alone.
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import { epochBatches, type StreamStats } from '../../../shared/data/stream/batches.ts';
import { heldOut, type SplitSource } from '../../../shared/data/stream/split.ts';
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
  /** The shards a streamed split reads. */
  source?: SplitSource;
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
    source: src,
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

/** About 4 MiB of inputs a batch: large images in small batches, so the backend's memory (wasm never gives it back) stays small too. */
const mapBatchSize = (featureShape: number[]) => Math.max(32, Math.min(512, Math.floor(2 ** 22 / (4 * featureShape.reduce((a, b) => a * b, 1)))));

/** A model's output rows, appended batch by batch into one array (allocated on the first rows). */
class Outputs {
  private data?: Float32Array;
  private shape: number[] = [];
  private at = 0;
  constructor(private readonly n: number) {}
  push(rows: Float32Array, shape: number[]): void {
    this.shape = shape;
    this.data ??= new Float32Array(this.n * shape.reduce((a, b) => a * b, 1));
    this.data.set(rows, this.at);
    this.at += rows.length;
  }
  get full(): boolean {
    return this.data ? this.at === this.data.length : this.n === 0;
  }
  tensor(): Tensor {
    return tf.tensor(this.data ?? new Float32Array(0), [this.n, ...this.shape]);
  }
}

/** A batch's outputs read back (and disposed): its rows and one row's shape. */
async function readBack(y: Tensor): Promise<{ data: Float32Array; shape: number[] }> {
  const data = (await y.data()) as Float32Array;
  const shape = y.shape.slice(1);
  y.dispose();
  return { data, shape };
}

/** The model's outputs for every example of the split, in storage order, as one tensor (features are small next to images). */
export async function mapSplit(split: ExampleSplit, fn: (x: Tensor) => Promise<Tensor>): Promise<Tensor> {
  if (split.tensor) return fn(split.tensor);
  const out = new Outputs(split.numExamples);
  for await (const b of split.batches({ batchSize: mapBatchSize(split.featureShape), seed: 0, epoch: 0, shuffle: false })) {
    const y = await fn(b.x).finally(() => tf.dispose([b.x, b.y]));
    const { data, shape } = await readBack(y);
    out.push(data, shape);
  }
  return out.tensor();
}

/**
 * Both sides of one seeded validation split of a streamed source mapped in one pass over the source:
 * each shard is read once, not once a side (the validation side's pass would read every shard for a
 * tenth of the examples). Null when they are not two sides of one source. Waits count on train's stats.
 */
export async function mapSides(train: ExampleSplit, validation: ExampleSplit, fn: (x: Tensor) => Promise<Tensor>): Promise<{ train: Tensor; validation: Tensor } | null> {
  const [a, b] = [train.source?.side, validation.source?.side];
  if (!a || !b || a.parent !== b.parent || a.seed !== b.seed || a.fraction !== b.fraction || a.side !== 'train' || b.side !== 'validation') return null;
  const src = a.parent;
  const outs = { train: new Outputs(train.numExamples), validation: new Outputs(validation.numExamples) };
  for await (const batch of epochBatches(src, { batchSize: mapBatchSize(src.featureShape), seed: 0, epoch: 0, shuffle: false }, train.stats)) {
    await new Promise((r) => setImmediate(r)); // as in streamSplit: the reads ahead progress between batches
    const rows = batch.classes.length;
    const x = tf.tensor(batch.features, [rows, ...src.featureShape]);
    const y = await fn(x).finally(() => x.dispose());
    const { data, shape } = await readBack(y);
    const per = data.length / rows;
    // Storage order on both sides: each row goes to the next place of its side.
    for (let r = 0; r < rows; r++) outs[heldOut(a.seed, a.fraction, batch.ids[r]) ? 'validation' : 'train'].push(data.subarray(r * per, (r + 1) * per), shape);
  }
  if (!outs.train.full || !outs.validation.full) throw new Error('mapSides: the sides did not fill');
  return { train: outs.train.tensor(), validation: outs.validation.tensor() };
}
