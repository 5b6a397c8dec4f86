// Conv2DBackpropInput exists in tfjs-backend-wasm 4.22 but is a scalar loop,
// ~7x slower than its forward XNNPACK conv2d and the slowest step of conv
// training. We replace it with the textbook identity
//   dx = conv2d(zero-spread(dy, stride) padded by k-1-pad, flip(W) as [kh,kw,co,ci])
// so the work runs in one XNNPACK conv2d.
import * as tf from '@tensorflow/tfjs';
import { spreadForInputGrad } from './spatial.ts';
import { type KernelArgs, asTensor, fromNhwc, nhwcShape, toNhwc } from './tensor-info.ts';

export function conv2dBackpropInput({ inputs, attrs }: KernelArgs): tf.TensorInfo {
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
    attrs as unknown as tf.Conv2DBackpropInputAttrs;
  return tf.tidy(() => {
    const dy = toNhwc(asTensor<tf.Rank.R4>(inputs.dy!), dataFormat);
    const filter = asTensor<tf.Rank.R4>(inputs.filter!);
    const info = tf.backend_util.computeConv2DInfo(nhwcShape(inputShape, dataFormat),
      filter.shape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]); // [kh,kw,co,ci]
    return fromNhwc(tf.conv2d(spreadForInputGrad(dy, info), flipped, 1, 'valid'), dataFormat);
  });
}
