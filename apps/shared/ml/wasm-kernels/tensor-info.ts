// Helpers for kernels written with tf ops: a kernel receives bare TensorInfos,
// while tf ops only accept Tensors, so we wrap them without copying data.
import * as tf from '@tensorflow/tfjs';

/**
 * A Tensor sharing `info`'s data; disposing it only drops the reference taken
 * here. (makeTensorFromTensorInfo alone takes none, so disposing the wrapper
 * would free the caller's input.)
 */
export function asTensor<R extends tf.Rank>(info: tf.TensorInfo): tf.Tensor<R> {
  const engine = tf.engine();
  engine.backend.incRef(info.dataId);
  return engine.makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}

/** NCHW -> NHWC (and back with `fromNhwc`); layers use NHWC, so this is rare. */
export function toNhwc(t: tf.Tensor4D, dataFormat: 'NHWC' | 'NCHW'): tf.Tensor4D {
  return dataFormat === 'NCHW' ? tf.transpose(t, [0, 2, 3, 1]) : t;
}

export function fromNhwc(t: tf.Tensor4D, dataFormat: 'NHWC' | 'NCHW'): tf.Tensor4D {
  return dataFormat === 'NCHW' ? tf.transpose(t, [0, 3, 1, 2]) : t;
}

export function nhwcShape(
  shape: [number, number, number, number],
  dataFormat: 'NHWC' | 'NCHW',
): [number, number, number, number] {
  return dataFormat === 'NCHW' ? [shape[0], shape[2], shape[3], shape[1]] : shape;
}

/** What the engine hands every kernel we register. */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  attrs?: tf.NamedAttrMap;
}
