// Keras' MobileNetV2 (keras.applications.MobileNetV2, include_top=False) as a
// topology: the same layers, names, options and weight shapes, so a cut layer
// (`block_13_expand_relu`, `out_relu`, …) means what it means in Keras.
import { TopologyBuilder, type Node } from './topology.ts';

/** Keras' _make_divisible: channels rounded to a multiple of 8, never down by more than 10%. */
export function makeDivisible(v: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * v ? rounded + divisor : rounded;
}

/** imagenet_utils.correct_pad: the zero padding before a stride-2 3x3 depthwise conv. */
export function correctPad(shape: number[], kernel = 3): [[number, number], [number, number]] {
  const half = Math.floor(kernel / 2);
  return [[half - (1 - (shape[0] % 2)), half], [half - (1 - (shape[1] % 2)), half]];
}

const EPS = 1e-3;
const MOMENTUM = 0.999;

function invertedResBlock(b: TopologyBuilder, inputs: Node, o: { expansion: number; stride: number; alpha: number; filters: number; id: number }): Node {
  const inChannels = inputs.shape[2];
  const pointwise = makeDivisible(Math.trunc(o.filters * o.alpha));
  let x = inputs;
  let prefix = `block_${o.id}_`;
  if (o.id) {
    x = b.conv2d(x, `${prefix}expand`, { filters: o.expansion * inChannels, kernel: 1, padding: 'same', useBias: false });
    x = b.batchNorm(x, `${prefix}expand_BN`, EPS, MOMENTUM);
    x = b.relu(x, `${prefix}expand_relu`, 6);
  } else {
    prefix = 'expanded_conv_';
  }
  if (o.stride === 2) x = b.zeroPad(x, `${prefix}pad`, correctPad(x.shape));
  x = b.depthwise(x, `${prefix}depthwise`, { kernel: 3, strides: o.stride, padding: o.stride === 1 ? 'same' : 'valid' });
  x = b.batchNorm(x, `${prefix}depthwise_BN`, EPS, MOMENTUM);
  x = b.relu(x, `${prefix}depthwise_relu`, 6);
  x = b.conv2d(x, `${prefix}project`, { filters: pointwise, kernel: 1, padding: 'same', useBias: false });
  x = b.batchNorm(x, `${prefix}project_BN`, EPS, MOMENTUM);
  return inChannels === pointwise && o.stride === 1 ? b.add(inputs, x, `${prefix}add`) : x;
}

/** [filters, stride, expansion] of blocks 0–16, as in Keras. */
const BLOCKS: Array<[number, number, number]> = [
  [16, 1, 1], [24, 2, 6], [24, 1, 6], [32, 2, 6], [32, 1, 6], [32, 1, 6], [64, 2, 6], [64, 1, 6], [64, 1, 6], [64, 1, 6],
  [96, 1, 6], [96, 1, 6], [96, 1, 6], [160, 2, 6], [160, 1, 6], [160, 1, 6], [320, 1, 6],
];

/** The backbone up to `out_relu` (Keras' include_top=False, pooling=None). */
export function mobileNetV2(b: TopologyBuilder, inputShape: number[], alpha: number): { input: Node; output: Node } {
  // Keras names the input after the first free `input_layer` name.
  const input = b.input(b.autoName('input_layer'), inputShape);
  let x = b.conv2d(input, 'Conv1', { filters: makeDivisible(32 * alpha), kernel: 3, strides: 2, padding: 'same', useBias: false });
  x = b.batchNorm(x, 'bn_Conv1', EPS, MOMENTUM);
  x = b.relu(x, 'Conv1_relu', 6);
  BLOCKS.forEach(([filters, stride, expansion], id) => {
    x = invertedResBlock(b, x, { filters, stride, expansion, alpha, id });
  });
  x = b.conv2d(x, 'Conv_1', { filters: alpha > 1 ? makeDivisible(1280 * alpha) : 1280, kernel: 1, useBias: false });
  x = b.batchNorm(x, 'Conv_1_bn', EPS, MOMENTUM);
  x = b.relu(x, 'out_relu', 6);
  return { input, output: x };
}
