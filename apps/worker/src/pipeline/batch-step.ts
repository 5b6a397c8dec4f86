// One batch's loss, hits and averaged gradients: on this thread alone, or
// split into shards across data-parallel peers. Both return gradients in
// trainableVariables() order for the caller's optimizer step.
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import { changingLayers, shardGradients, type Trainable } from './batch-gradients.ts';
import { ownedData, splitRows, type Array32, type GradientPeers } from './peers.ts';

export interface BatchStep {
  loss: number;
  hits: number;
  /** The caller disposes them. */
  grads: Tensor[];
}

export interface BatchRows {
  x: Tensor;
  /** One-hot. */
  y: Tensor;
  /** Row indices of this batch. */
  batch: Int32Array;
  /** Each row's example index, when x holds a batch rather than the whole split: dropout masks are drawn from it. */
  ids?: Int32Array;
}

/** The example indices of some rows: what their dropout masks are drawn from. */
const exampleIds = (rows: BatchRows, batch: Int32Array) => (rows.ids ? Int32Array.from(batch, (i) => rows.ids![i]) : batch);

export interface StepOptions {
  unfrozen: number;
  features: boolean;
  classWeights?: Tensor;
  /** Dropout masks are drawn per example from (seed, epoch, row index): see dropout-masks.ts. */
  dropout: { seed: number; epoch: number };
}

function gathered(t: Tensor, rows: Int32Array): Tensor {
  return tf.tidy(() => tf.gather(t, tf.tensor1d(rows, 'int32')));
}

export function localStep(m: Trainable, rows: BatchRows, opts: StepOptions): BatchStep {
  // A streamed batch is already the rows it trains on: nothing to gather.
  const whole = rows.ids !== undefined && rows.batch.length === rows.x.shape[0];
  const [xb, yb] = whole ? [rows.x, rows.y] : tf.tidy(() => {
    const index = tf.tensor1d(rows.batch, 'int32');
    return [tf.gather(rows.x, index), tf.gather(rows.y, index)];
  });
  try {
    const g = shardGradients(m, xb, yb, { ...opts, masks: { ...opts.dropout, rows: exampleIds(rows, rows.batch) } });
    // One read back per step (hits are counts, exact in float32).
    const both = tf.tidy(() => tf.stack([g.loss, g.hits.toFloat()]));
    const [loss, hits] = both.dataSync();
    tf.dispose([g.loss, g.hits, both]);
    return { loss, hits, grads: g.grads };
  } finally {
    if (!whole) tf.dispose([xb, yb]);
  }
}

/**
 * The first shard runs here while the peers run theirs; each shard's mean is
 * weighted by its size, so the result is the whole batch's mean up to float
 * rounding. Dropout masks depend on each example's row index, not on its
 * shard. The exception: a batch-norm layer in training mode normalises by the
 * statistics of the shard it is given, so its gradients (and its moving
 * statistics, which this thread's shard updates) depend on the thread count.
 * Exact would need synchronised batch norm: the shards' statistics exchanged
 * in the forward pass and gradient sums in the backward, per layer per batch.
 */
export async function parallelStep(peers: GradientPeers, m: Trainable, rows: BatchRows, opts: StepOptions): Promise<BatchStep> {
  const backend = tf.getBackend();
  const shards = splitRows(rows.batch.length, peers.size + 1)
    .map(([s, e]) => rows.batch.subarray(s, e))
    .filter((s) => s.length > 0);
  const sync = changingLayers(m, opts.unfrozen).flatMap((l) => l.getWeights()).map((w) => ownedData(w, backend));
  const classWeights = opts.classWeights ? ownedData(opts.classWeights, backend) : undefined;
  const array = (t: Tensor, shard: Int32Array): Array32 => {
    const g = gathered(t, shard);
    const data = ownedData(g, backend);
    g.dispose();
    return { data, shape: g.shape };
  };
  const theirs = peers.gradients(shards.slice(1).map((shard) => ({
    x: array(rows.x, shard),
    y: array(rows.y, shard),
    unfrozen: opts.unfrozen,
    features: opts.features,
    classWeights,
    dropout: { ...opts.dropout, rows: exampleIds(rows, shard).slice() },
    sync,
  })));
  const mine = localStep(m, { ...rows, batch: shards[0] }, opts);
  const answers = await theirs.catch((err) => {
    tf.dispose(mine.grads);
    throw err;
  });
  const total = rows.batch.length;
  const share = (size: number) => size / total;
  const grads = tf.tidy(() => mine.grads.map((g, i) => answers.reduce(
    (acc, a, j) => acc.add(tf.tensor(a.grads[i], g.shape).mul(share(shards[j + 1].length))),
    g.mul(share(shards[0].length)),
  )));
  tf.dispose(mine.grads);
  return {
    loss: answers.reduce((acc, a, j) => acc + a.loss * share(shards[j + 1].length), mine.loss * share(shards[0].length)),
    hits: answers.reduce((acc, a) => acc + a.hits, mine.hits),
    grads,
  };
}
