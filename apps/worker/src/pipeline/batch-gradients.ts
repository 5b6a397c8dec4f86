// One shard of one batch: loss, hits and the gradient of every trainable
// weight. The training loop runs it on its own shard, and each data-parallel
// peer thread runs it on a replica of the model, so both sides compute the
// same function in the same weight order.
import type { layers as tfLayers, LayersModel, Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';
import { withExampleMasks, type MaskSource } from './dropout-masks.ts';

/** What a gradient step needs of the model: ModelParts, or a peer's replica of them. */
export interface Trainable {
  base?: LayersModel;
  head: LayersModel;
  /** Base layers that have weights, bottom to top. */
  baseBlocks: tfLayers.Layer[];
}

export interface ShardGradients {
  /** Mean (class-weighted) cross-entropy over the shard. */
  loss: Scalar;
  /** Correct predictions in the shard. */
  hits: Scalar;
  /** In the order of trainableVariables(). */
  grads: Tensor[];
}

/** Sets layer.trainable so that the top `unfrozen` base blocks learn. */
export function setUnfrozen(baseBlocks: tfLayers.Layer[], unfrozen: number): void {
  const n = baseBlocks.length;
  baseBlocks.forEach((layer, i) => {
    layer.trainable = i >= n - unfrozen;
  });
}

/**
 * The head's weights, then trainable base weights from the top block down:
 * tfjs optimizers keep their slots by position, so layers unfrozen later must
 * come after those already training.
 */
export function trainableVariables(m: Trainable, unfrozen: number): Variable[] {
  const head = m.head.trainableWeights.map((w) => w.read() as Variable);
  if (unfrozen === 0) return head;
  return [...head, ...[...m.baseBlocks].reverse().flatMap((l) => l.trainableWeights.map((w) => w.read() as Variable))];
}

/**
 * Layers whose weights can change in a step (trained, or batch-norm statistics
 * updated in training mode): what a peer must receive before each batch.
 */
export function changingLayers(m: Trainable, unfrozen: number): tfLayers.Layer[] {
  return [...m.head.layers, ...(unfrozen > 0 ? m.baseBlocks : [])];
}

/**
 * `features` true means x already is the frozen base's output (the fast path).
 * Dropout masks follow `masks` (one row index per example of xb).
 * The caller owns the returned tensors.
 */
export function shardGradients(m: Trainable, xb: Tensor, yb: Tensor, opts: { unfrozen: number; features: boolean; classWeights?: Tensor; masks: MaskSource }): ShardGradients {
  const vars = trainableVariables(m, opts.unfrozen);
  return withExampleMasks(opts.masks, () => tf.tidy(() => {
    let hits: Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const features = m.base && !opts.features ? (m.base.apply(xb, { training: opts.unfrozen > 0 }) as Tensor) : xb;
      const probs = m.head.apply(features, { training: true }) as Tensor;
      hits = tf.keep(tf.equal(probs.argMax(-1), yb.argMax(-1)).sum());
      // Unclipped (only an epsilon), so a NaN from the model shows up in the loss.
      const ce = tf.neg(tf.sum(tf.mul(yb, tf.log(tf.add(probs, 1e-7))), -1));
      const perExample = opts.classWeights ? ce.mul(tf.gather(opts.classWeights, yb.argMax(-1))) : ce;
      return perExample.mean() as Scalar;
    }, vars);
    return { loss: value, hits: hits as Scalar, grads: vars.map((v) => grads[v.name]) };
  }));
}
