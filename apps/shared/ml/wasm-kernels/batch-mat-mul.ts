// tfjs-backend-wasm 4.22 sends every matMul with transposeA/transposeB to a
// scalar loop (only the plain case reaches XNNPACK), and backprop through a
// dense layer is exactly those two cases: ~30x slower than the forward pass.
// Transposing the operand first (one cheap copy) lets XNNPACK do the product.
import * as tf from '@tensorflow/tfjs';
import { asTensor } from './tensor-info.ts';

type KernelArgs = Parameters<tf.KernelFunc>[0];

function swapLastTwo(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  perm.push(...perm.splice(-2).reverse());
  return tf.transpose(t, perm);
}

function batchOf(info: tf.TensorInfo): number {
  return info.shape.slice(0, -2).reduce((a, b) => a * b, 1);
}

/** Wraps the wasm backend's own BatchMatMul kernel (`original`). */
export function makeBatchMatMul(original: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const { a, b } = args.inputs;
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    // XNNPACK is only used for un-batched products; leave the rest as they were.
    if ((!transposeA && !transposeB) || batchOf(a!) !== 1 || batchOf(b!) !== 1) {
      return original(args);
    }
    return tf.tidy(() => {
      const at = asTensor(a!);
      const bt = asTensor(b!);
      return tf.matMul(transposeA ? swapLastTwo(at) : at, transposeB ? swapLastTwo(bt) : bt);
    });
  };
}
