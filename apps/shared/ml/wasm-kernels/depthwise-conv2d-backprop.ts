// Both gradients of depthwiseConv2d (used by depthwiseConv2d and
// separableConv2d layers, e.g. MobileNet fine-tuning) are absent from
// tfjs-backend-wasm 4.22. tfjs only takes these gradients with dilation 1.
import * as tf from '@tensorflow/tfjs';
import { fitSpatial, spreadForInputGrad } from './spatial.ts';
import { type KernelArgs, asTensor } from './tensor-info.ts';

type Attrs = tf.DepthwiseConv2dNativeBackpropInputAttrs & tf.DepthwiseConv2dNativeBackpropFilterAttrs;

function convInfo(xShape: [number, number, number, number],
  filterShape: [number, number, number, number], attrs: Attrs): tf.backend_util.Conv2DInfo {
  const { strides, dilations, pad, dimRoundingMode } = attrs;
  const [dh, dw] = Array.isArray(dilations) ? dilations : [dilations ?? 1, dilations ?? 1];
  if (dh !== 1 || dw !== 1) throw new Error('wasm depthwise conv2d gradients need dilations = 1');
  return tf.backend_util.computeConv2DInfo(
    xShape, filterShape, strides, 1, pad, dimRoundingMode, true, 'channelsLast');
}

/** dx = sum over multiplier q of depthwiseConv2d(spread dy_q, flipped W_q). */
export function depthwiseConv2dBackpropInput({ inputs, attrs }: KernelArgs): tf.TensorInfo {
  const a = attrs as unknown as Attrs;
  return tf.tidy(() => {
    const dy = asTensor<tf.Rank.R4>(inputs.dy!);
    const filter = asTensor<tf.Rank.R4>(inputs.filter!);
    const info = convInfo(a.inputShape, filter.shape, a);
    const [kh, kw, ci, m] = filter.shape;
    const flipped = tf.reverse(filter, [0, 1]);
    const [n, oh, ow] = dy.shape;
    // dy channel c*m+q pairs with filter[..., c, q].
    const dy5 = tf.reshape(dy, [n, oh, ow, ci, m]);
    const parts = [];
    for (let q = 0; q < m; q++) {
      const dyQ: tf.Tensor4D = m === 1 ? dy : tf.reshape(tf.slice(dy5, [0, 0, 0, 0, q], [-1, -1, -1, -1, 1]), [n, oh, ow, ci]);
      const wQ: tf.Tensor4D = m === 1 ? flipped : tf.slice(flipped, [0, 0, 0, q], [kh, kw, ci, 1]);
      parts.push(tf.depthwiseConv2d(spreadForInputGrad(dyQ, info), wQ, 1, 'valid'));
    }
    return parts.length === 1 ? parts[0]! : tf.addN(parts);
  });
}

/** dW[i,j,c,q] = sum_{n,oh,ow} x[n, oh*s+i, ow*s+j, c] * dy[n,oh,ow,c*m+q], one tap at a time. */
export function depthwiseConv2dBackpropFilter({ inputs, attrs }: KernelArgs): tf.TensorInfo {
  const a = attrs as unknown as Attrs;
  return tf.tidy(() => {
    const x = asTensor<tf.Rank.R4>(inputs.x!);
    const dy = asTensor<tf.Rank.R4>(inputs.dy!);
    const info = convInfo(x.shape, a.filterShape, a);
    const [kh, kw, ci, m] = a.filterShape;
    const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
    const xp = fitSpatial(x, info.padInfo.top, (oh - 1) * sh + kh, info.padInfo.left, (ow - 1) * sw + kw);
    const dy5 = tf.reshape(dy, [-1, oh, ow, ci, m]);
    const taps = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const xs = tf.stridedSlice(xp, [0, i, j, 0],
          [xp.shape[0], i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, ci], [1, sh, sw, 1]);
        taps.push(tf.sum(tf.mul(tf.reshape(xs, [-1, oh, ow, ci, 1]), dy5), [0, 1, 2]));
      }
    }
    return tf.reshape(tf.stack(taps), [kh, kw, ci, m]);
  });
}
