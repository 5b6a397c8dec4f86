// Conv2DBackpropFilter (the filter gradient of conv2d) is absent from
// tfjs-backend-wasm 4.22, so model.fit of any conv net fails there.
//
// dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s+kh-pt, ow*s+kw-pl, ci] * dy[n,oh,ow,co]
// is itself a convolution once the batch axis plays the channel role:
//   input  = pad(x) as [ci, H, W, n], filter = dy as [oh, ow, n, co],
//   dilation = the forward stride  ->  [ci, kh, kw, co].
// One XNNPACK conv2d does all the work, which is far faster than im2col + the
// wasm backend's scalar transposed matMul.
import * as tf from '@tensorflow/tfjs';
import { fitSpatial } from './spatial.ts';
import { type KernelArgs, asTensor, nhwcShape, toNhwc } from './tensor-info.ts';

export function conv2dBackpropFilter({ inputs, attrs }: KernelArgs): tf.TensorInfo {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  return tf.tidy(() => {
    const x = toNhwc(asTensor<tf.Rank.R4>(inputs.x!), dataFormat);
    const dy = toNhwc(asTensor<tf.Rank.R4>(inputs.dy!), dataFormat);
    const info = tf.backend_util.computeConv2DInfo(
      nhwcShape(inputs.x!.shape as [number, number, number, number], dataFormat),
      filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
    const { top, left } = info.padInfo;
    // Rows/cols of (padded) x actually touched by the forward conv.
    const needH = (info.outHeight - 1) * sh + kh;
    const needW = (info.outWidth - 1) * sw + kw;
    // Pad (or crop) so x covers exactly those rows/cols; 'ceil' rounding can
    // reach past the stated padding, which then reads as zeros.
    const xp = fitSpatial(x, top, needH, left, needW);
    const xT = tf.transpose(xp, [3, 1, 2, 0]); // [ci, H, W, n]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [oh, ow, n, co]
    const dw = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', [sh, sw]); // [ci, kh, kw, co]
    return tf.transpose(dw, [1, 2, 0, 3]); // [kh, kw, ci, co]
  });
}
