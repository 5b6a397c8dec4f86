// Dropout masks as a function of (job seed, epoch, example index, layer).
// tfjs draws a mask for a whole tensor from one stream, so which examples
// share a shard (TRAIN_THREADS) and the order shards are drawn in would
// change the masks, and so the model. Here each example's mask comes from its
// own generator, seeded by where it sits in the training set: any thread
// count, a resume, or another machine with the same backend draws the same
// masks. The masks are computed in JavaScript, so they do not even depend on
// the backend.
import type { layers as tfLayers, Tensor } from '@tensorflow/tfjs';
import { tf } from '../../../shared/ml/tf.ts';

/** What a training step's masks depend on; rows[i] is the training-set index of the step's i-th example. */
export interface MaskSource {
  seed: number;
  epoch: number;
  rows: Int32Array;
}

type DropoutLayer = tfLayers.Layer & { rate: number; noiseShape?: Array<number | null> };

/** murmur3's finaliser: every input bit moves every output bit. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** FNV-1a: a layer's name as a number (names are the same in every replica of a model). */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The seed of one example's mask in one dropout layer. */
export function exampleMaskSeed(seed: number, epoch: number, row: number, layer: string): number {
  let h = fmix32(seed ^ 0x6a09e667);
  for (const v of [epoch, row, nameHash(layer)]) h = fmix32((h ^ fmix32(v + 0x9e3779b9)) >>> 0);
  return h;
}

/**
 * The keep/drop multipliers for x: 0 where dropped, 1/(1-rate) where kept, as
 * tfjs's own dropout. A layer's noiseShape (dimensions that share a mask
 * value) is honoured within each example; the batch dimension is always per
 * example.
 */
function maskFor(layer: DropoutLayer, x: Tensor, src: MaskSource): Tensor {
  const shape = x.shape.map((d, i) => (i > 0 && layer.noiseShape?.[i] != null ? layer.noiseShape[i]! : d));
  const n = shape[0];
  if (n !== src.rows.length) throw new Error(`dropout: ${n} examples but ${src.rows.length} row indices`);
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  const scale = 1 / (1 - layer.rate);
  // mulberry32 (seed.ts's seededRandom), inlined and compared as integers: u < rate ⇔ u·2³² < rate·2³².
  const threshold = layer.rate * 4294967296;
  const out = new Float32Array(n * per);
  for (let i = 0; i < n; i++) {
    let a = exampleMaskSeed(src.seed, src.epoch, src.rows[i], layer.name);
    for (let j = i * per, end = j + per; j < end; j++) {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      out[j] = ((t ^ (t >>> 14)) >>> 0) < threshold ? 0 : scale;
    }
  }
  return tf.tensor(out, shape);
}

let current: MaskSource | undefined;
let installed = false;

/** Routes Dropout's training-mode call through maskFor while a MaskSource is set. */
function install(): void {
  if (installed) return;
  installed = true;
  const proto = Object.getPrototypeOf(tf.layers.dropout({ rate: 0.5 })) as DropoutLayer;
  const original = proto.call;
  proto.call = function (this: DropoutLayer, inputs, kwargs) {
    const src = current;
    if (!src || !kwargs?.training || !(this.rate > 0 && this.rate < 1)) return original.call(this, inputs, kwargs);
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      return x.mul(maskFor(this, x, src));
    });
  };
}

/** Runs fn (synchronous: a forward and backward pass) with every dropout layer masking by example. */
export function withExampleMasks<T>(src: MaskSource, fn: () => T): T {
  install();
  const previous = current;
  current = src;
  try {
    return fn();
  } finally {
    current = previous;
  }
}
