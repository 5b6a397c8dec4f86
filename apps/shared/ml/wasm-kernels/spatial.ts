// Spatial reshaping shared by the backprop kernels, done with plain tf ops
// that the wasm backend runs natively (PadV2, Slice, Reshape).
import * as tf from '@tensorflow/tfjs';

/**
 * Makes an NHWC tensor's spatial size exactly [height, width], with its
 * first row/col landing at offset `top`/`left`: positive offsets and missing
 * trailing rows/cols are zero-padded, negative offsets and extra ones cropped.
 */
export function fitSpatial(
  t: tf.Tensor4D, top: number, height: number, left: number, width: number,
): tf.Tensor4D {
  const [, h, w] = t.shape;
  const bottom = height - h - top;
  const right = width - w - left;
  let out = t;
  if (top > 0 || left > 0 || bottom > 0 || right > 0) {
    out = tf.pad(out, [[0, 0], [Math.max(top, 0), Math.max(bottom, 0)],
      [Math.max(left, 0), Math.max(right, 0)], [0, 0]]);
  }
  if (top < 0 || left < 0 || bottom < 0 || right < 0) {
    out = tf.slice(out, [0, Math.max(-top, 0), Math.max(-left, 0), 0], [-1, height, width, -1]);
  }
  return out;
}

/**
 * Lays dy out as the input of the "transposed" convolution that computes the
 * input gradient: a zero after every dy row/col for stride > 1, then padded so
 * a 'valid' conv with the flipped filter yields exactly [inH, inW].
 */
export function spreadForInputGrad(dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const [n, oh, ow, c] = dy.shape;
  let spread = dy;
  if (sh > 1 || sw > 1) {
    // Trailing zeros past the last dy row/col get cropped by fitSpatial.
    spread = tf.reshape(
      tf.pad(tf.reshape(dy, [n, oh, 1, ow, 1, c]),
        [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]),
      [n, oh * sh, ow * sw, c]);
  }
  return fitSpatial(spread, kh - 1 - info.padInfo.top, info.inHeight + kh - 1,
    kw - 1 - info.padInfo.left, info.inWidth + kw - 1);
}
